-- Per-side version info for conflict detection on bidirectional entities.
--
-- sync_mappings.last_synced_hash holds the hash of the SUPRA image (the mapped columns of the
-- primary SUPRA row) as it was when both sides last agreed; last_legacy_hash holds the hash of
-- the legacy image (the columns [reverse] writes) at that same moment. An incoming change whose
-- target row no longer has the recorded hash was changed on the target side since the last
-- sync: a conflict. Hashes are computed by supra-sync over PostgreSQL's text forms.
ALTER TABLE supra_sync.sync_mappings ADD COLUMN IF NOT EXISTS last_legacy_hash TEXT;

COMMENT ON COLUMN supra_sync.sync_mappings.last_legacy_hash IS
  'Hash of the legacy image (columns written by [reverse]) when both sides last agreed.';

-- When supra-sync last wrote the row on each side (that side's clock, read under the row
-- lock). A change from a side that committed before supra-sync's last write to that side was
-- already superseded (it was either part of a conflict that was decided, or it did not touch
-- the synced columns) and is skipped instead of reverting the newer state.
ALTER TABLE supra_sync.sync_mappings ADD COLUMN IF NOT EXISTS last_write_to_supra_at TIMESTAMPTZ;
ALTER TABLE supra_sync.sync_mappings ADD COLUMN IF NOT EXISTS last_write_to_legacy_at TIMESTAMPTZ;
