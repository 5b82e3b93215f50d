-- Phase 2 (seed 001 P2-S3-08, P2-S3-10, P2-S4-02): polymorphic lookup tables and the
-- migration helper. @schema@ is replaced by the quoted legacy schema name.
CREATE TABLE IF NOT EXISTS @schema@.domain_value (
    dv_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dv_domain      varchar(50)  NOT NULL,
    dv_code        varchar(60)  NOT NULL,
    dv_txtid       text,
    dv_description text,
    dv_sort_order  integer      NOT NULL DEFAULT 0,
    dv_is_active   boolean      NOT NULL DEFAULT true,
    dv_extra_json  jsonb        NOT NULL DEFAULT '{}',
    dv_expid       integer,
    dv_created_at  timestamptz  NOT NULL DEFAULT now(),
    dv_created_by  varchar(64)  NOT NULL DEFAULT current_user,
    dv_updated_at  timestamptz  NOT NULL DEFAULT now(),
    dv_updated_by  varchar(64)  NOT NULL DEFAULT current_user,
    CONSTRAINT uq_domain_value UNIQUE (dv_domain, dv_code)
);
CREATE INDEX IF NOT EXISTS idx_domain_value_extra ON @schema@.domain_value USING gin (dv_extra_json);
COMMENT ON TABLE @schema@.domain_value IS
    'Polymorphic lookup table (seed 001 P2-S3-08): one row per code of a migrated tipo*/estado* table; columns beyond code and txtid in dv_extra_json.';

CREATE TABLE IF NOT EXISTS @schema@.domain_value_link (
    dvl_link_type     varchar(50) NOT NULL,
    dvl_source_domain varchar(50) NOT NULL,
    dvl_source_code   varchar(60) NOT NULL,
    dvl_target_domain varchar(50) NOT NULL,
    dvl_target_code   varchar(60) NOT NULL,
    CONSTRAINT pk_domain_value_link PRIMARY KEY (dvl_link_type, dvl_source_domain, dvl_source_code, dvl_target_domain, dvl_target_code)
);
COMMENT ON TABLE @schema@.domain_value_link IS
    'Junction rows of the migrated link tipo* tables (seed 001 P2-S3-10).';

-- Copies one lookup table into domain_value: code and txtid columns into dv_code/dv_txtid,
-- the description from tabladesc when it exists, every other column into dv_extra_json.
-- Existing (domain, code) pairs are left alone (ON CONFLICT DO NOTHING); returns the rows
-- inserted.
CREATE OR REPLACE FUNCTION @schema@.migrate_tipo_to_domain(
    p_table text, p_domain text, p_code_col text, p_txtid_col text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_schema text := @schema_literal@;
    v_desc   text := 'NULL';
    v_txt    text := 'NULL';
    n        bigint;
BEGIN
    IF p_txtid_col IS NOT NULL THEN
        v_txt := format('t.%I::text', p_txtid_col);
        IF to_regclass(format('%I.tabladesc', v_schema)) IS NOT NULL THEN
            v_desc := format('(SELECT td.tddescri::text FROM %I.tabladesc td WHERE td.tddtddid::text = t.%I::text LIMIT 1)', v_schema, p_txtid_col);
        END IF;
    END IF;
    EXECUTE format(
        'INSERT INTO %I.domain_value (dv_domain, dv_code, dv_txtid, dv_description, dv_extra_json)
         SELECT %L, t.%I::text, %s, coalesce(%s, t.%I::text), to_jsonb(t) - %L - %L
           FROM %I.%I t
         ON CONFLICT (dv_domain, dv_code) DO NOTHING',
        v_schema, p_domain, p_code_col, v_txt, v_desc, p_code_col, p_code_col, coalesce(p_txtid_col, ''),
        v_schema, p_table);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
