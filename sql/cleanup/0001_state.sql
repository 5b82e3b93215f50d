-- supra-sync cleanup sidecar: job state (idempotent; applied by every mutating command).
CREATE SCHEMA IF NOT EXISTS supra_sync_cleanup;

-- One row per step of a phase. Moves forward only: running -> done (or blocked/waiting/failed,
-- which a later apply retries). `rollback` deletes the rows of the phase it reverted.
CREATE TABLE IF NOT EXISTS supra_sync_cleanup.step_state (
    phase        text        NOT NULL,
    step         text        NOT NULL,
    grp          text        NOT NULL,
    status       text        NOT NULL CHECK (status IN ('running', 'done', 'blocked', 'waiting', 'failed')),
    state        jsonb       NOT NULL DEFAULT '{}',
    error        jsonb,
    attempts     integer     NOT NULL DEFAULT 0,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    PRIMARY KEY (phase, step)
);

-- Every apply/rollback run.
CREATE TABLE IF NOT EXISTS supra_sync_cleanup.runs (
    run_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phase        text        NOT NULL,
    action       text        NOT NULL,
    pid          integer     NOT NULL DEFAULT pg_backend_pid(),
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    outcome      text
);

-- Rows copied out of a table before it is dropped: a table is dropped only when this ledger
-- says this run migrated it with matching counts, or verified it empty (source_rows = 0).
CREATE TABLE IF NOT EXISTS supra_sync_cleanup.migrated (
    phase         text        NOT NULL,
    family        text        NOT NULL,
    source_table  text        NOT NULL,
    target_table  text        NOT NULL,
    proceso_id    bigint,
    source_rows   bigint      NOT NULL,
    migrated_rows bigint      NOT NULL,
    migrated_at   timestamptz NOT NULL DEFAULT now(),
    dropped_at    timestamptz,
    PRIMARY KEY (phase, source_table)
);

-- Rollback information recorded before anything is dropped or altered.
CREATE TABLE IF NOT EXISTS supra_sync_cleanup.rollback_ddl (
    phase        text        NOT NULL,
    step         text        NOT NULL,
    object_name  text        NOT NULL,
    kind         text        NOT NULL,
    ddl          text        NOT NULL,
    restore_sql  text,
    archive      jsonb,
    file         text,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    applied_at   timestamptz,
    PRIMARY KEY (phase, object_name)
);

-- Before/after metrics per phase.
CREATE TABLE IF NOT EXISTS supra_sync_cleanup.metrics (
    phase     text        NOT NULL,
    label     text        NOT NULL,
    taken_at  timestamptz NOT NULL DEFAULT now(),
    data      jsonb       NOT NULL,
    PRIMARY KEY (phase, label)
);
