-- supra-sync bookkeeping, migration 1006: strangler-fig cutover (issue 9).
--
--   entity_stages          new stage vocabulary: what supra-sync syncs per entity
--   reconcile_runs         one row per `supra-sync reconcile` run
--   reconcile_results      per run and subject (entity, or a financial check): clean or not,
--                          counts, and every differing key
--
-- Stages (replacing 1002's B4 step names, which described the project plan rather than what
-- the service does; no row used them):
--   shadow           legacy -> SUPRA only (SUPRA is a read-only copy; legacy wins conflicts)
--   dual             both ways, legacy primary (the mapping's conflict policy)
--   supra_primary    both ways, SUPRA primary (legacy_wins <-> supra_wins flipped)
--   legacy_readonly  SUPRA -> legacy only (legacy readers still see fresh data)
--   retired          no sync
-- One-way (legacy_to_supra) entities only use shadow and retired. An entity without a row is at
-- its default: shadow (legacy_to_supra) or dual (bidirectional). supra-sync checks the
-- preconditions of a transition (open conflicts, failed rows, last reconciliation, stages of
-- the entities it depends on, one step forward at a time) before it writes here; the trigger
-- below keeps the history (who, when, why) and refuses no-op transitions.

CREATE OR REPLACE FUNCTION supra_sync.stage_rank(p_stage text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT array_position(
    ARRAY['shadow', 'dual', 'supra_primary', 'legacy_readonly', 'retired'],
    p_stage)
$$;

COMMENT ON FUNCTION supra_sync.stage_rank(text) IS
  'Position of a cutover stage (shadow 1 .. retired 5); NULL for an unknown stage.';

CREATE OR REPLACE FUNCTION supra_sync.entity_stages_transition() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_from text;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NEW.entity_type <> OLD.entity_type THEN
      RAISE EXCEPTION 'entity_type of a stage row cannot change'
        USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.stage = OLD.stage THEN
      RAISE EXCEPTION 'entity "%" is already at stage %', NEW.entity_type, NEW.stage
        USING ERRCODE = 'check_violation';
    END IF;
    v_from := OLD.stage;
  END IF;
  IF btrim(NEW.changed_by) = '' OR btrim(NEW.reason) = '' THEN
    RAISE EXCEPTION 'a stage change of "%" needs who (changed_by) and why (reason)', NEW.entity_type
      USING ERRCODE = 'check_violation';
  END IF;

  NEW.changed_at := now();
  INSERT INTO supra_sync.entity_stage_history
         (entity_type, from_stage, to_stage, changed_by, reason, changed_at)
  VALUES (NEW.entity_type, v_from, NEW.stage, NEW.changed_by, NEW.reason, NEW.changed_at);
  RETURN NEW;
END
$$;

COMMENT ON TABLE supra_sync.entity_stages IS
  'Cutover stage per entity (shadow, dual, supra_primary, legacy_readonly, retired); read by '
  'the appliers every batch. History in entity_stage_history.';

-- -----------------------------------------------------------------------------------------
-- reconcile_runs: one per run. status: running -> clean | differences | failed.
-- options: what was asked (entities, fix, max_rate, ...); report: the full report as JSON
-- (the same document `supra-sync reconcile --json` prints).
-- -----------------------------------------------------------------------------------------
CREATE TABLE supra_sync.reconcile_runs (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  finished_at TIMESTAMPTZ,
  run_by TEXT NOT NULL,
  fix BOOLEAN NOT NULL DEFAULT false,
  status VARCHAR(12) NOT NULL DEFAULT 'running'
    CHECK (status IN ('running', 'clean', 'differences', 'failed')),
  rows_compared BIGINT NOT NULL DEFAULT 0 CHECK (rows_compared >= 0),
  rows_per_sec NUMERIC(14, 1),
  options JSONB NOT NULL DEFAULT '{}',
  report JSONB,
  error_message TEXT,
  CHECK (status = 'running' OR finished_at IS NOT NULL),
  CHECK (status <> 'failed' OR error_message IS NOT NULL)
);

-- -----------------------------------------------------------------------------------------
-- reconcile_results: per run and subject. subject = an entity name ('persona'), or a
-- financial check ('finance:invoices', 'finance:payments'). clean = no difference left after
-- the run (after --fix when given). differences: every differing key as JSON objects
-- ({"kind", "legacy_key", "supra_id", "table", "detail", "changed", "fixed"}).
-- -----------------------------------------------------------------------------------------
CREATE TABLE supra_sync.reconcile_results (
  run_id BIGINT NOT NULL REFERENCES supra_sync.reconcile_runs(id) ON DELETE CASCADE,
  subject VARCHAR(60) NOT NULL,
  clean BOOLEAN NOT NULL,
  legacy_rows BIGINT NOT NULL DEFAULT 0,
  supra_rows BIGINT NOT NULL DEFAULT 0,
  differing INTEGER NOT NULL DEFAULT 0 CHECK (differing >= 0),
  fixed INTEGER NOT NULL DEFAULT 0 CHECK (fixed >= 0),
  summary JSONB NOT NULL DEFAULT '{}',
  differences JSONB NOT NULL DEFAULT '[]',
  checked_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, subject),
  CHECK (jsonb_typeof(differences) = 'array')
);

-- "The latest result per subject" (stage preconditions, status).
CREATE INDEX idx_reconcile_results_subject ON supra_sync.reconcile_results(subject, run_id DESC);

COMMENT ON TABLE supra_sync.reconcile_results IS
  'supra-sync reconcile: per run and subject (entity or finance:<check>), whether both sides '
  'agree and every key that differs.';
