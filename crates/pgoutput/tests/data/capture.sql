-- Workload whose pgoutput bytes are stored in pgoutput_v1.txt / pgoutput_v1_binary.txt.
-- Run by capture.sh against a throwaway PostgreSQL 15 cluster (wal_level=logical).
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE persona (
    prsid    integer PRIMARY KEY,
    prsnombre text NOT NULL,
    prsnif   varchar(13),
    prsmood  mood,
    prsnotes text
);
CREATE TABLE contrato (
    cntid    bigint NOT NULL,
    cntprsid integer,
    cntsaldo numeric(12,2)
);
ALTER TABLE contrato REPLICA IDENTITY FULL;
CREATE TABLE lookup (code text PRIMARY KEY, label text);
CREATE PUBLICATION pub FOR TABLE persona, contrato, lookup;

SELECT 'init' FROM pg_create_logical_replication_slot('cap', 'pgoutput');

-- 1. plain insert: NULLs, empty string, non-ASCII UTF-8, a user-defined enum type (Type message)
INSERT INTO persona VALUES (1, 'José Núñez 水', '', 'happy', NULL);
-- 2. TOASTed value (large, incompressible), then an update that leaves it untouched ('u')
INSERT INTO persona
SELECT 2, 'Big', 'XAXX010101000', 'ok', string_agg(md5(i::text), '') FROM generate_series(1, 300) AS i;
UPDATE persona SET prsnombre = 'Big Updated' WHERE prsid = 2;
-- 3. update of the primary key: old key sent as 'K'
UPDATE persona SET prsid = 10 WHERE prsid = 1;
-- 4. REPLICA IDENTITY FULL table: update and delete carry the old full tuple ('O')
INSERT INTO contrato VALUES (100, 10, 1234.50), (101, NULL, -7.25);
UPDATE contrato SET cntsaldo = 0 WHERE cntid = 100;
DELETE FROM contrato WHERE cntid = 101;
-- 5. delete by primary key ('K')
DELETE FROM persona WHERE prsid = 10;
-- 6. transactional and non-transactional logical messages
SELECT pg_logical_emit_message(true, 'prefix', 'content');
SELECT pg_logical_emit_message(false, 'supra_sync.watermark', 'low:42');
-- 7. multi-statement transaction with a transactional message inside
BEGIN;
INSERT INTO lookup VALUES ('A', 'alpha');
SELECT pg_logical_emit_message(true, 'supra_sync.watermark', convert_to('high:ñ', 'UTF8'));
INSERT INTO lookup VALUES ('B', NULL);
COMMIT;
-- 8. truncate: one plain, one with CASCADE + RESTART IDENTITY over two tables
TRUNCATE lookup;
TRUNCATE contrato, persona RESTART IDENTITY CASCADE;
-- 9. a transaction carrying a replication origin (Origin message)
SELECT pg_replication_origin_create('supra_sync_legacy');
SELECT pg_replication_origin_session_setup('supra_sync_legacy');
BEGIN;
SELECT pg_replication_origin_xact_setup('0/ABCDEF01', '2024-01-02 03:04:05.678901+00');
INSERT INTO lookup VALUES ('O', 'from origin');
COMMIT;
SELECT pg_replication_origin_session_reset();
