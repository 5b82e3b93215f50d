-- supra-sync bookkeeping, migration 1004: where `supra-sync replay` is in each Kafka topic.
--
--   kafka_offsets   per consumer group, topic and partition: the next offset to read
--
-- The replay consumer writes these rows in the SAME target transaction as the data it applied
-- from the records before that offset (Applier::stage_statement), so a crash at any instant
-- resumes exactly after the last committed batch: no record lost, none applied twice. The
-- offsets the consumer group commits to the broker are informational only (lag dashboards) and
-- are never read back: this table is the truth.
--
-- next_offset only moves forward within a group (a replayed batch can never move it back). To
-- re-process a topic from the start, replay under a new group name, or delete the group's rows.

CREATE TABLE supra_sync.kafka_offsets (
  consumer_group VARCHAR(255) NOT NULL,       -- `supra-sync replay --group` (Kafka group.id)
  topic VARCHAR(249) NOT NULL,                -- Kafka's own limit on topic names
  partition INTEGER NOT NULL CHECK (partition >= 0),
  next_offset BIGINT NOT NULL CHECK (next_offset >= 0),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, topic, partition)
);

COMMENT ON TABLE supra_sync.kafka_offsets IS
  'supra-sync replay: next Kafka offset to read per consumer group, topic and partition; written in the same transaction as the replayed data';
