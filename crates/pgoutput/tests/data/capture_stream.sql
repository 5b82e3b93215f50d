-- Workload whose pgoutput bytes are stored in pgoutput_v2_stream.txt (protocol 2, streaming on).
-- logical_decoding_work_mem is at its 64kB minimum so that big transactions are streamed.
CREATE TABLE big (id integer PRIMARY KEY, payload text);
CREATE PUBLICATION pubstream FOR TABLE big;
SELECT 'init' FROM pg_create_logical_replication_slot('capstream', 'pgoutput');

-- 1. a small transaction: not streamed, ordinary Begin/Insert/Commit
INSERT INTO big VALUES (0, 'small');
-- 2. a big transaction that is streamed, with a rolled-back subtransaction (Stream Abort of the subxact)
BEGIN;
INSERT INTO big SELECT i, NULL FROM generate_series(1, 700) AS i;
SAVEPOINT s1;
INSERT INTO big SELECT i, NULL FROM generate_series(1001, 1700) AS i;
ROLLBACK TO SAVEPOINT s1;
SELECT pg_logical_emit_message(true, 'stream', 'inside');
INSERT INTO big VALUES (2000, 'last');
COMMIT;
-- 3. a big transaction that is streamed and then rolled back (Stream Abort of the top-level xid)
BEGIN;
INSERT INTO big SELECT i, NULL FROM generate_series(3001, 3700) AS i;
ROLLBACK;
-- 4. a small committed transaction: its commit flushes WAL past the abort record above
INSERT INTO big VALUES (4000, 'after');
