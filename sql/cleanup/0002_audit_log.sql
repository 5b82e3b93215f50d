-- Phase 2 (seed 001 P2-S1-01..03): unified audit log, partitioned by month on al_changed_at.
-- @schema@ is replaced by the quoted legacy schema name.
CREATE TABLE IF NOT EXISTS @schema@.audit_log (
    al_id             bigint GENERATED ALWAYS AS IDENTITY,
    al_table_name     varchar(63) NOT NULL,
    al_record_key     text        NOT NULL,
    al_operation      char(1)     NOT NULL CHECK (al_operation IN ('I', 'U', 'D')),
    al_old_data       jsonb,
    al_new_data       jsonb,
    al_changed_fields jsonb,
    al_sesid          bigint,
    al_user_id        varchar(64) NOT NULL,
    al_changed_at     timestamptz NOT NULL DEFAULT now(),
    al_expid          integer,
    CONSTRAINT pk_audit_log PRIMARY KEY (al_id, al_changed_at)
) PARTITION BY RANGE (al_changed_at);

COMMENT ON TABLE @schema@.audit_log IS
    'Unified JSONB audit log (seed 001). Replaces low-volume his* tables. U rows keep the full old row in al_old_data and the diff in al_changed_fields.';

CREATE INDEX IF NOT EXISTS idx_audit_log_table_record ON @schema@.audit_log (al_table_name, al_record_key, al_changed_at);
CREATE INDEX IF NOT EXISTS idx_audit_log_user ON @schema@.audit_log (al_user_id, al_changed_at);
CREATE INDEX IF NOT EXISTS idx_audit_log_changed ON @schema@.audit_log USING gin (al_changed_fields);

-- Keeps monthly partitions audit_log_YYYY_MM from p_from for p_months months (pg_partman's
-- job, without the extension). Returns the partitions it created.
CREATE OR REPLACE FUNCTION supra_sync_cleanup.audit_log_ensure_partitions(p_schema text, p_from date, p_months integer)
RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    m date := date_trunc('month', p_from)::date;
    last date := (date_trunc('month', p_from) + make_interval(months => p_months))::date;
    part text;
BEGIN
    WHILE m < last LOOP
        part := format('audit_log_%s', to_char(m, 'YYYY_MM'));
        IF to_regclass(format('%I.%I', p_schema, part)) IS NULL THEN
            EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.audit_log FOR VALUES FROM (%L) TO (%L)',
                           p_schema, part, p_schema, m::timestamptz, (m + interval '1 month')::timestamptz);
            RETURN NEXT part;
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
END $$;
