-- supra-sync bookkeeping, migration 1007: exactly-once bookkeeping of SUPRA → legacy batches.
--
--   reverse_bookings   the ids of the SUPRA → legacy batches whose bookkeeping is written
--
-- A SUPRA → legacy batch commits on legacy, but its bookkeeping (sync_log rows, agreed versions,
-- re-keyed identities, parked changes) lives here on SUPRA: two databases, no shared transaction.
-- So the batch also writes its bookkeeping, as a transactional logical message
-- (pg_logical_emit_message(true, 'supra_sync.booking', …)), INTO the legacy transaction: it
-- exists exactly when the data does. Right after the legacy commit supra-sync writes the
-- bookkeeping here; if it is killed in between, the legacy → SUPRA pipeline finds the message
-- when it streams that (otherwise skipped, echo) legacy transaction and writes it then. Both
-- paths insert the batch's id first, ON CONFLICT DO NOTHING, and write the rest only when the
-- insert took: written once, whichever comes first.
--
-- Rows older than a week are pruned by supra-sync (a message can only arrive that late if the
-- legacy → SUPRA pipeline was stopped for a week; then the pruned booking would be written twice).

CREATE TABLE supra_sync.reverse_bookings (
  id UUID PRIMARY KEY,
  booked_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_reverse_bookings_age ON supra_sync.reverse_bookings(booked_at);
