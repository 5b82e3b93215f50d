-- SUPRA target schema, migration 0012: Domain 11 -- Configuration and Lookups (seed 003 §2.1).
--
-- Copied from the seed's DDL, with one change: domain_values' unique key is
-- UNIQUE NULLS NOT DISTINCT (PostgreSQL 15+). With a plain UNIQUE, global values
-- (tenant_id IS NULL) could be inserted twice, and the seed's own lookup consolidation
-- (§3.4: ON CONFLICT (tenant_id, domain, code) DO NOTHING) would never see a conflict for them.
-- sat_catalogs is seeded with the seed's rows.

CREATE TABLE domain_values (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id UUID REFERENCES tenants(id),      -- NULL = global
  domain VARCHAR(50) NOT NULL,                -- 'TIPO_TOMA', 'ESTADO_ORDEN', etc.
  code VARCHAR(30) NOT NULL,
  description VARCHAR(200) NOT NULL,
  sort_order INTEGER DEFAULT 0,
  active BOOLEAN DEFAULT true,
  extra JSONB DEFAULT '{}',                   -- Domain-specific extra attributes
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now(),
  UNIQUE NULLS NOT DISTINCT (tenant_id, domain, code)
);

CREATE INDEX idx_domain_values_lookup ON domain_values(domain, code, active);
CREATE INDEX idx_domain_values_extra ON domain_values USING GIN(extra);

CREATE TABLE domain_value_links (
  link_type VARCHAR(50) NOT NULL,
  source_domain VARCHAR(50) NOT NULL,
  source_code VARCHAR(30) NOT NULL,
  target_domain VARCHAR(50) NOT NULL,
  target_code VARCHAR(30) NOT NULL,
  PRIMARY KEY (link_type, source_domain, source_code, target_domain, target_code)
);

CREATE TABLE sat_catalogs (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  catalog_type VARCHAR(30) NOT NULL,          -- 'producto_servicio', 'unidad', 'forma_pago', 'regimen_fiscal'
  code VARCHAR(20) NOT NULL,
  description VARCHAR(300) NOT NULL,
  valid_from DATE,
  valid_until DATE,
  metadata JSONB DEFAULT '{}',
  UNIQUE(catalog_type, code)
);

-- Seed SAT catalog codes for water utilities
INSERT INTO sat_catalogs (catalog_type, code, description) VALUES
  ('producto_servicio', '10171500', 'Suministro de agua'),
  ('producto_servicio', '72151802', 'Servicio de alcantarillado'),
  ('producto_servicio', '72151801', 'Servicio de saneamiento'),
  ('unidad', 'MTQ', 'Metro cubico'),
  ('unidad', 'E48', 'Unidad de servicio'),
  ('unidad', 'H87', 'Pieza'),
  ('forma_pago', '01', 'Efectivo'),
  ('forma_pago', '03', 'Transferencia electronica de fondos'),
  ('forma_pago', '28', 'Tarjeta de debito'),
  ('forma_pago', '04', 'Tarjeta de credito'),
  ('regimen_fiscal', '603', 'Personas morales con fines no lucrativos'),
  ('regimen_fiscal', '601', 'General de ley personas morales'),
  ('regimen_fiscal', '616', 'Sin obligaciones fiscales');
