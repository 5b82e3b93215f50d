-- supra-sync bookkeeping, migration 1002: engine state beyond the seed's three tables.
--
--   checkpoints          per pipeline: the LSN applied in the target / confirmed to the source
--   snapshot_progress    per entity and source table: resumable keyset snapshot (DBLog watermarks)
--   held_changes         changes queued behind an open manual conflict
--   parked_changes       changes waiting for a foreign key's mapping (DESIGN: "parked and retried")
--   pipeline_state       JSON state per component (Reshape-style), optimistic versioning
--   entity_stages        strangler-fig stage per entity (seed §3.3 B4), with a history table
--
-- The exactly-once resume point is the replication origin, set in the same target transaction
-- as the data (DESIGN invariant 1); checkpoints mirrors it for operators and for the source-side
-- acknowledgement, and is forward-only.

-- -----------------------------------------------------------------------------------------
-- checkpoints
-- applied_lsn:   every source change with commit LSN <= applied_lsn is reflected in the target
--                (applied, logged as failed/skipped, or held/parked durably).
-- confirmed_lsn: the position acknowledged to the source slot. Never ahead of applied_lsn
--                (that is invariant 1: nothing is acknowledged before it is durable).
-- Both only move forward; a deliberate rewind needs SET LOCAL supra_sync.allow_rewind = 'on'.
-- -----------------------------------------------------------------------------------------
CREATE TABLE supra_sync.checkpoints (
  pipeline VARCHAR(63) PRIMARY KEY,           -- e.g. 'supra_sync_legacy' (slot and origin name)
  applied_lsn PG_LSN NOT NULL DEFAULT '0/0',
  confirmed_lsn PG_LSN NOT NULL DEFAULT '0/0',
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CHECK (confirmed_lsn <= applied_lsn)
);

CREATE FUNCTION supra_sync.checkpoints_forward_only() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF (NEW.applied_lsn < OLD.applied_lsn OR NEW.confirmed_lsn < OLD.confirmed_lsn)
     AND COALESCE(current_setting('supra_sync.allow_rewind', true), '') <> 'on' THEN
    RAISE EXCEPTION 'checkpoint "%" cannot move backwards', OLD.pipeline
      USING ERRCODE = 'check_violation',
            DETAIL = format('applied %s -> %s, confirmed %s -> %s',
                            OLD.applied_lsn, NEW.applied_lsn, OLD.confirmed_lsn, NEW.confirmed_lsn),
            HINT = 'To rewind on purpose, SET LOCAL supra_sync.allow_rewind = ''on'' first.';
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END
$$;

CREATE TRIGGER checkpoints_forward_only
  BEFORE UPDATE ON supra_sync.checkpoints
  FOR EACH ROW EXECUTE FUNCTION supra_sync.checkpoints_forward_only();

-- -----------------------------------------------------------------------------------------
-- snapshot_progress: one row per (entity, source table). last_key is the key of the last row
-- of the last committed chunk (NULL: start from the beginning); the chunk in flight is bracketed
-- by low/high watermark LSNs (pg_logical_emit_message markers).
-- -----------------------------------------------------------------------------------------
CREATE TABLE supra_sync.snapshot_progress (
  entity_type VARCHAR(50) NOT NULL,
  source_table VARCHAR(127) NOT NULL,         -- 'cf_quere_pro.persona'
  direction VARCHAR(16) NOT NULL DEFAULT 'legacy_to_supra'
    CHECK (direction IN ('legacy_to_supra', 'supra_to_legacy')),
  status VARCHAR(12) NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'running', 'paused', 'done', 'failed')),
  last_key JSONB,                             -- {"prsid": 123456}
  rows_copied BIGINT NOT NULL DEFAULT 0 CHECK (rows_copied >= 0),
  chunks_done BIGINT NOT NULL DEFAULT 0 CHECK (chunks_done >= 0),
  low_watermark_lsn PG_LSN,
  high_watermark_lsn PG_LSN,
  error_message TEXT,
  started_at TIMESTAMPTZ,
  finished_at TIMESTAMPTZ,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (entity_type, source_table),
  CHECK (status <> 'done' OR finished_at IS NOT NULL),
  CHECK (low_watermark_lsn IS NULL OR high_watermark_lsn IS NULL
         OR low_watermark_lsn <= high_watermark_lsn)
);

-- -----------------------------------------------------------------------------------------
-- held_changes: with a manual conflict open on an entity, later changes to that entity wait
-- here in order (seq) and are replayed after the resolution (invariant 4: per-entity order).
-- The conflict row counts them (sync_conflicts.held_changes, kept by the trigger below); a
-- change can only be held behind an open conflict, and a conflict with held changes cannot be
-- deleted (no ON DELETE CASCADE: that would drop changes silently).
-- -----------------------------------------------------------------------------------------
CREATE TABLE supra_sync.held_changes (
  conflict_id UUID NOT NULL REFERENCES supra_sync.sync_conflicts(id),
  seq INTEGER NOT NULL CHECK (seq > 0),
  direction VARCHAR(16) NOT NULL CHECK (direction IN ('legacy_to_supra', 'supra_to_legacy')),
  operation VARCHAR(10) NOT NULL CHECK (operation IN ('insert', 'update', 'delete', 'truncate')),
  raw_change JSONB NOT NULL,
  source_lsn PG_LSN,
  source_commit_ts TIMESTAMPTZ,
  held_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (conflict_id, seq)
);

CREATE FUNCTION supra_sync.held_changes_count() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE supra_sync.sync_conflicts
       SET held_changes = held_changes + 1
     WHERE id = NEW.conflict_id AND status = 'open';
    IF NOT FOUND THEN
      RAISE EXCEPTION 'conflict % is not open; changes can only be held behind an open conflict',
        NEW.conflict_id
        USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  ELSE
    UPDATE supra_sync.sync_conflicts
       SET held_changes = held_changes - 1
     WHERE id = OLD.conflict_id;
    RETURN OLD;
  END IF;
END
$$;

CREATE TRIGGER held_changes_count
  AFTER INSERT OR DELETE ON supra_sync.held_changes
  FOR EACH ROW EXECUTE FUNCTION supra_sync.held_changes_count();

-- -----------------------------------------------------------------------------------------
-- parked_changes: a change whose foreign key points at an entity not mapped yet (snapshot
-- order, or a child arriving before its parent) waits here and is retried when the mapping for
-- (waiting_for_entity, waiting_for_id) appears. Later changes to the same entity must park
-- behind it (idx_parked_changes_entity), to keep per-entity order.
-- -----------------------------------------------------------------------------------------
CREATE TABLE supra_sync.parked_changes (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  entity_type VARCHAR(50) NOT NULL,
  entity_id VARCHAR(500) NOT NULL,
  direction VARCHAR(16) NOT NULL CHECK (direction IN ('legacy_to_supra', 'supra_to_legacy')),
  operation VARCHAR(10) NOT NULL CHECK (operation IN ('insert', 'update', 'delete', 'truncate')),
  waiting_for_entity VARCHAR(50) NOT NULL,
  waiting_for_id VARCHAR(500) NOT NULL,
  raw_change JSONB NOT NULL,
  source_lsn PG_LSN,
  source_commit_ts TIMESTAMPTZ,
  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  parked_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  last_attempt_at TIMESTAMPTZ
);

CREATE INDEX idx_parked_changes_waiting ON supra_sync.parked_changes(waiting_for_entity, waiting_for_id);
CREATE INDEX idx_parked_changes_entity ON supra_sync.parked_changes(entity_type, entity_id, id);

-- -----------------------------------------------------------------------------------------
-- pipeline_state: resumable state of each component as JSON (Reshape keeps its state the same
-- way). Writers use optimistic concurrency:
--   UPDATE supra_sync.pipeline_state SET state = $new, version = version + 1
--    WHERE component = $c AND version = $seen;      -- 0 rows: someone else moved it
-- -----------------------------------------------------------------------------------------
CREATE TABLE supra_sync.pipeline_state (
  component VARCHAR(100) PRIMARY KEY,         -- 'source:legacy', 'applier:supra', 'cleanup:phase1'
  state JSONB NOT NULL DEFAULT '{}',
  version BIGINT NOT NULL DEFAULT 1 CHECK (version > 0),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CHECK (jsonb_typeof(state) = 'object')
);

-- -----------------------------------------------------------------------------------------
-- entity_stages: where each entity is in the seed's domain-by-domain migration (§3.3 B4):
--   planned           SUPRA module exists, nothing synced                       (B4 step 1)
--   snapshot          sync set up, initial load running                          (steps 2-3)
--   streaming         loaded; changes stream; legacy is the system of record
--   validated         counts and checksums match                                 (step 4)
--   supra_writes      new writes go through SUPRA, reads still from legacy       (step 5)
--   supra_reads       reads from SUPRA too                                       (step 6)
--   legacy_read_only  sync disabled, legacy read-only                            (step 7)
--   archived          legacy tables archived                                     (step 8)
-- A new entity starts at 'planned'; a stage may advance one step at a time or go back any number
-- (rollback). Every change is recorded, with who and why, in entity_stage_history by trigger.
-- -----------------------------------------------------------------------------------------
CREATE FUNCTION supra_sync.stage_rank(p_stage text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT array_position(
    ARRAY['planned', 'snapshot', 'streaming', 'validated',
          'supra_writes', 'supra_reads', 'legacy_read_only', 'archived'],
    p_stage)
$$;

CREATE TABLE supra_sync.entity_stages (
  entity_type VARCHAR(50) PRIMARY KEY,
  stage VARCHAR(20) NOT NULL CHECK (supra_sync.stage_rank(stage) IS NOT NULL),
  changed_by TEXT NOT NULL,
  reason TEXT NOT NULL,
  changed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE supra_sync.entity_stage_history (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  entity_type VARCHAR(50) NOT NULL,
  from_stage VARCHAR(20),                     -- NULL: entity registered
  to_stage VARCHAR(20) NOT NULL,
  changed_by TEXT NOT NULL,
  reason TEXT NOT NULL,
  changed_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX idx_entity_stage_history_entity ON supra_sync.entity_stage_history(entity_type, id);

CREATE FUNCTION supra_sync.entity_stages_transition() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_from text;
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.stage <> 'planned' THEN
      RAISE EXCEPTION 'entity "%" must start at stage planned, not %', NEW.entity_type, NEW.stage
        USING ERRCODE = 'check_violation';
    END IF;
  ELSE
    IF NEW.entity_type <> OLD.entity_type THEN
      RAISE EXCEPTION 'entity_type of a stage row cannot change'
        USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.stage = OLD.stage THEN
      RAISE EXCEPTION 'entity "%" is already at stage %', NEW.entity_type, NEW.stage
        USING ERRCODE = 'check_violation';
    END IF;
    IF supra_sync.stage_rank(NEW.stage) > supra_sync.stage_rank(OLD.stage) + 1 THEN
      RAISE EXCEPTION 'entity "%" cannot skip from % to %', NEW.entity_type, OLD.stage, NEW.stage
        USING ERRCODE = 'check_violation',
              HINT = 'Advance one stage at a time; going back (rollback) may skip.';
    END IF;
    v_from := OLD.stage;
  END IF;

  NEW.changed_at := now();
  INSERT INTO supra_sync.entity_stage_history
         (entity_type, from_stage, to_stage, changed_by, reason, changed_at)
  VALUES (NEW.entity_type, v_from, NEW.stage, NEW.changed_by, NEW.reason, NEW.changed_at);
  RETURN NEW;
END
$$;

CREATE TRIGGER entity_stages_transition
  BEFORE INSERT OR UPDATE ON supra_sync.entity_stages
  FOR EACH ROW EXECUTE FUNCTION supra_sync.entity_stages_transition();
