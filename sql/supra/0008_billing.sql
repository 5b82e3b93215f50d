-- SUPRA target schema, migration 0008: Domain 7 -- Billing (seed 003 §2.1) + invoice_batches.
--
-- tariff_schedules: copied from the seed's DDL (with excl_tariff_validity).
-- invoices, invoice_lines: the seed points at "SUPRA SS3 (lines 585-700)", which it does not
--   include; the columns, types, defaults and indexes are taken from its Drizzle schema (§4.3),
--   which has 39 and 19 columns (the summary table says 36 and 16). The Drizzle projection drops
--   REFERENCES that the SQL DDL has (compare addresses.explotacion_id, tariff_schedules.
--   explotacion_id in §2 vs §4), so every *_id column that names a synced table gets its foreign
--   key here. reading_id cannot: meter_readings' key is (id, reading_date).
-- invoice_batches: a summary line only ("10 columns, replaces facturacio"); designed here.
--   invoices.invoice_batch_id (added, nullable) links an invoice to its batch.
--
-- Legacy factura + linfactura -> invoices + invoice_lines is legacy -> SUPRA only;
-- tarifa/aplictarif rows are aggregated into tariff_schedules.blocks.

CREATE TABLE tariff_schedules (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  explotacion_id UUID REFERENCES explotaciones(id),
  name VARCHAR(200) NOT NULL,
  category VARCHAR(30) NOT NULL,
  effective_from DATE NOT NULL,
  effective_until DATE,
  active BOOLEAN DEFAULT true,
  billing_period VARCHAR(10) NOT NULL,
  blocks JSONB NOT NULL,
  additional_concepts JSONB DEFAULT '[]',
  iva_applicable BOOLEAN DEFAULT false,
  social_discount_pct DECIMAL(5, 2),
  approved_by VARCHAR(200),
  approval_date DATE,
  gazette_reference VARCHAR(100),
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE INDEX idx_tariffs_active ON tariff_schedules(tenant_id, category, active)
  WHERE active = true;

-- Prevent overlapping tariff validity periods (btree_gist: 0001)
ALTER TABLE tariff_schedules ADD CONSTRAINT excl_tariff_validity
  EXCLUDE USING gist (
    tenant_id WITH =,
    category WITH =,
    daterange(effective_from, effective_until, '[)') WITH &&
  ) WHERE (active = true);

-- 10 columns. One billing run (legacy facturacio) of an explotacion for a period.
CREATE TABLE invoice_batches (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  explotacion_id UUID NOT NULL REFERENCES explotaciones(id),
  batch_number VARCHAR(30) NOT NULL,
  period_start DATE NOT NULL,
  period_end DATE NOT NULL,
  status VARCHAR(20) NOT NULL DEFAULT 'abierto' CHECK (status IN (
    'abierto', 'en_proceso', 'cerrado', 'cancelado'
  )),
  invoice_count INTEGER NOT NULL DEFAULT 0,
  total_amount DECIMAL(14, 2) NOT NULL DEFAULT 0,
  created_at TIMESTAMPTZ DEFAULT now(),
  UNIQUE(tenant_id, batch_number)
);

CREATE TABLE invoices (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  contract_id UUID NOT NULL REFERENCES contracts(id),
  person_id UUID NOT NULL REFERENCES persons(id),
  toma_id UUID NOT NULL REFERENCES tomas(id),
  explotacion_id UUID NOT NULL REFERENCES explotaciones(id),
  invoice_batch_id UUID REFERENCES invoice_batches(id),     -- added (see header)
  invoice_number VARCHAR(30),
  folio_fiscal UUID,
  serie VARCHAR(10),
  invoice_type VARCHAR(20) NOT NULL,
  origin VARCHAR(20) NOT NULL,
  period_start DATE NOT NULL,
  period_end DATE NOT NULL,
  billing_date DATE NOT NULL,
  due_date DATE NOT NULL,
  subtotal DECIMAL(12, 2) NOT NULL DEFAULT 0,
  iva_amount DECIMAL(12, 2) NOT NULL DEFAULT 0,
  total DECIMAL(12, 2) NOT NULL DEFAULT 0,
  currency VARCHAR(3) DEFAULT 'MXN',
  reading_id UUID,                                          -- meter_readings.id (no FK possible)
  consumption_m3 DECIMAL(10, 3),
  previous_reading DECIMAL(12, 3),
  current_reading DECIMAL(12, 3),
  status VARCHAR(20) NOT NULL DEFAULT 'provisional',
  cfdi_status VARCHAR(20),
  cfdi_xml TEXT,
  cfdi_pdf_url VARCHAR(500),
  cfdi_stamp_date TIMESTAMPTZ,
  cfdi_cancellation_date TIMESTAMPTZ,
  pac_response JSONB,
  payment_reference VARCHAR(30),
  spei_reference VARCHAR(20),
  related_invoice_id UUID REFERENCES invoices(id),
  delivered BOOLEAN DEFAULT false,
  delivery_channel VARCHAR(20),
  delivered_at TIMESTAMPTZ,
  notes TEXT,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE INDEX idx_invoices_contract ON invoices(tenant_id, contract_id);
CREATE INDEX idx_invoices_person ON invoices(tenant_id, person_id);
CREATE INDEX idx_invoices_status ON invoices(tenant_id, status);
-- §5.1 (Partial): open invoices by due date, for debt summaries (§5.4 pattern 3).
CREATE INDEX idx_invoices_due ON invoices(tenant_id, due_date)
  WHERE status IN ('pendiente', 'impagada');

CREATE TABLE invoice_lines (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  invoice_id UUID NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  concept_code VARCHAR(20) NOT NULL,
  concept_name VARCHAR(200) NOT NULL,
  subconcept_code VARCHAR(20),
  subconcept_name VARCHAR(200),
  owner_entity VARCHAR(50),
  quantity DECIMAL(12, 3) DEFAULT 1,
  unit_price DECIMAL(12, 4) DEFAULT 0,
  subtotal DECIMAL(12, 2) NOT NULL DEFAULT 0,
  iva_rate DECIMAL(5, 4) DEFAULT 0,
  iva_amount DECIMAL(12, 2) DEFAULT 0,
  total DECIMAL(12, 2) NOT NULL DEFAULT 0,
  tariff_detail JSONB,
  clave_prod_serv VARCHAR(10),
  clave_unidad VARCHAR(5),
  sort_order INTEGER DEFAULT 0,
  created_at TIMESTAMPTZ DEFAULT now()
);

-- Added, §5.1 rule 2 (every foreign key gets a B-tree index). invoice_lines.invoice_id leads
-- its index so the ON DELETE CASCADE lookup is an index scan.
CREATE INDEX idx_tariffs_explotacion ON tariff_schedules(explotacion_id);
CREATE INDEX idx_invoice_batches_explotacion ON invoice_batches(explotacion_id);
CREATE INDEX idx_invoices_toma ON invoices(toma_id);
CREATE INDEX idx_invoices_explotacion ON invoices(explotacion_id);
CREATE INDEX idx_invoices_batch ON invoices(invoice_batch_id);
CREATE INDEX idx_invoices_related ON invoices(related_invoice_id);
CREATE INDEX idx_invoice_lines_invoice ON invoice_lines(invoice_id);

-- Added, §5.1 rule 3 (status + tenant_id) and §5.1 GIN row ("tariff_schedules" JSONB).
CREATE INDEX idx_invoice_batches_status ON invoice_batches(tenant_id, status);
CREATE INDEX idx_tariffs_blocks ON tariff_schedules USING GIN(blocks);
