-- SUPRA target schema, migration 0011: Domain 10 -- domain_events (seed 003 §2.1, §2.2).
--
-- Copied from the seed's DDL. The seed's TimescaleDB hypertable (1-month chunks) becomes a
-- native table PARTITIONED BY RANGE (created_at) with monthly partitions and a DEFAULT partition
-- (see 0006); PRIMARY KEY (id, created_at) already contains the partition key. created_at is
-- nullable in the seed, but as part of the primary key it is NOT NULL (PostgreSQL makes it so;
-- DEFAULT now() fills it). communications and notification_templates are not synced.

CREATE TABLE domain_events (
  id UUID DEFAULT gen_random_uuid(),
  tenant_id UUID NOT NULL,
  event_type VARCHAR(100) NOT NULL,
  aggregate_type VARCHAR(50) NOT NULL,
  aggregate_id UUID NOT NULL,
  payload JSONB NOT NULL,
  metadata JSONB DEFAULT '{}',
  created_at TIMESTAMPTZ DEFAULT now(),
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);

CREATE INDEX idx_events_aggregate ON domain_events(aggregate_type, aggregate_id, created_at DESC);
CREATE INDEX idx_events_type ON domain_events(event_type, created_at DESC);
CREATE INDEX idx_events_tenant ON domain_events(tenant_id, created_at DESC);

-- 3 years back (room for events backfilled from legacy his* tables), 2 years ahead.
SELECT supra_ensure_monthly_partitions('domain_events', 36, 24);
