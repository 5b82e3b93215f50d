-- SUPRA target schema, migration 0002: Domain 1 -- Tenant and Organization (seed 003 §2.1).
--
-- tenants, explotaciones and offices are only summary lines in the seed (column count + JSONB
-- columns); they are designed here in the seed's style with exactly the stated column counts.
-- explotacion_configs is copied from the seed's DDL (13 columns; the summary table says 14).
-- The seed refers to tenants by slug ('cea-queretaro'), hence the UNIQUE slug.

-- 9 columns; JSONB: fiscal_address, config
CREATE TABLE tenants (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  name VARCHAR(200) NOT NULL,
  slug VARCHAR(50) NOT NULL UNIQUE,             -- 'cea-queretaro'
  rfc VARCHAR(13),
  fiscal_address JSONB,
  config JSONB NOT NULL DEFAULT '{}',
  active BOOLEAN DEFAULT true,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

-- 12 columns; JSONB: config, billing_config, reading_config.
-- Operating unit: the 12 identity columns of the legacy 350-column `explotacion`; the rest of
-- that god table goes to explotacion_configs (§3.5).
CREATE TABLE explotaciones (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  code VARCHAR(20) NOT NULL,                    -- legacy expid / short code
  name VARCHAR(200) NOT NULL,
  municipality VARCHAR(100),
  state VARCHAR(50) DEFAULT 'Queretaro',
  config JSONB NOT NULL DEFAULT '{}',
  billing_config JSONB NOT NULL DEFAULT '{}',
  reading_config JSONB NOT NULL DEFAULT '{}',
  active BOOLEAN DEFAULT true,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now(),
  UNIQUE(tenant_id, code)
);

-- 10 columns; JSONB: address, config
CREATE TABLE offices (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  explotacion_id UUID REFERENCES explotaciones(id),
  code VARCHAR(20) NOT NULL,
  name VARCHAR(200) NOT NULL,
  address JSONB,                                -- same shape as persons.fiscal_address
  config JSONB NOT NULL DEFAULT '{}',           -- opening hours, cash desks, phone, ...
  active BOOLEAN DEFAULT true,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now(),
  UNIQUE(tenant_id, code)
);

-- Copied from the seed.
CREATE TABLE explotacion_configs (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  explotacion_id UUID NOT NULL REFERENCES explotaciones(id) UNIQUE,
  tenant_id UUID NOT NULL REFERENCES tenants(id),

  -- Each domain gets a typed JSONB column
  billing JSONB NOT NULL DEFAULT '{}',        -- cycle_days, max_months, simulation_mode, etc.
  collections JSONB NOT NULL DEFAULT '{}',    -- grace_days, surcharge_rate, interest_rate, etc.
  estimation JSONB NOT NULL DEFAULT '{}',     -- tolerance_pct, methods[], fallback_m3, etc.
  notifications JSONB NOT NULL DEFAULT '{}',  -- sms_enabled, email_enabled, channels[], etc.
  cutoff JSONB NOT NULL DEFAULT '{}',         -- min_debt, seasonal_block, valve_management, etc.
  digital JSONB NOT NULL DEFAULT '{}',        -- portal_url, biometric_enabled, etc.
  fiscal JSONB NOT NULL DEFAULT '{}',         -- vat_rules, cfdi_defaults, etc.
  quality JSONB NOT NULL DEFAULT '{}',        -- complaint_threshold, inspection_rules, etc.

  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

-- §5.1 rule 2 (every foreign key gets a B-tree index); not in the seed's DDL. Foreign keys to
-- tenants(id) get none (tenants are never deleted; see sql/README.md).
CREATE INDEX idx_offices_explotacion ON offices(explotacion_id);
