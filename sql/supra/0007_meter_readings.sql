-- SUPRA target schema, migration 0007: Domain 6 -- Meter Readings (seed 003 §2.1, §2.2).
--
-- Copied from the seed's DDL. The seed makes it a TimescaleDB hypertable with 1-month chunks;
-- here it is a native table PARTITIONED BY RANGE (reading_date), one partition per month, plus a
-- DEFAULT partition (see 0006). The seed's PRIMARY KEY (id, reading_date) already contains the
-- partition key, as PostgreSQL requires. Indexes created on the parent are created on every
-- partition. No other table can reference meter_readings(id) (the key is composite), so
-- invoices.reading_id stays a plain UUID, as in the seed.
--
-- Compression, retention and the daily_consumption continuous aggregate of §2.2 are TimescaleDB
-- features and are not reproduced (see sql/README.md).
--
-- Legacy lectura -> meter_readings is legacy -> SUPRA only.

CREATE TABLE meter_readings (
  id UUID DEFAULT gen_random_uuid(),
  tenant_id UUID NOT NULL,
  meter_id UUID NOT NULL REFERENCES meters(id),
  toma_id UUID NOT NULL REFERENCES tomas(id),
  contract_id UUID REFERENCES contracts(id),
  reading_value DECIMAL(12, 3) NOT NULL,
  previous_reading DECIMAL(12, 3),
  consumption DECIMAL(12, 3),
  reading_date TIMESTAMPTZ NOT NULL,
  period_start DATE,
  period_end DATE,
  source VARCHAR(20) NOT NULL CHECK (source IN (
    'smart_meter', 'manual_field', 'manual_office', 'autolectura',
    'telelectura', 'estimated', 'photo', 'api'
  )),
  reader_user_id UUID,
  device_id VARCHAR(50),
  status VARCHAR(20) DEFAULT 'valid' CHECK (status IN (
    'valid', 'suspicious', 'estimated', 'rejected', 'corrected'
  )),
  anomaly_type VARCHAR(30),
  anomaly_score DECIMAL(5, 3),
  observations TEXT,
  photo_url VARCHAR(500),
  gps_latitude DECIMAL(10, 7),
  gps_longitude DECIMAL(10, 7),
  created_at TIMESTAMPTZ DEFAULT now(),
  PRIMARY KEY (id, reading_date)
) PARTITION BY RANGE (reading_date);

CREATE INDEX idx_readings_meter ON meter_readings(tenant_id, meter_id, reading_date DESC);
CREATE INDEX idx_readings_toma ON meter_readings(tenant_id, toma_id, reading_date DESC);
CREATE INDEX idx_readings_status ON meter_readings(tenant_id, status, reading_date DESC);

-- Added, §5.1 rule 2: contract_id is the one foreign key without an index (in the seed's style).
CREATE INDEX idx_readings_contract ON meter_readings(tenant_id, contract_id, reading_date DESC);

-- 10 years back (the seed's retention, so the historical backload of ~4.8M rows/year lands in
-- monthly partitions rather than in the DEFAULT one) and 2 years ahead.
SELECT supra_ensure_monthly_partitions('meter_readings', 120, 24);
