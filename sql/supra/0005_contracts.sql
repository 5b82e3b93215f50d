-- SUPRA target schema, migration 0005: Domain 5 -- Contracts (seed 003 §2.1).
--
-- Copied from the seed's DDL. contracts (legacy contrato, 104 columns) is bidirectional;
-- contract_notifications comes from contrato's notification columns.

CREATE TABLE contracts (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  explotacion_id UUID NOT NULL REFERENCES explotaciones(id),
  contract_number VARCHAR(30) NOT NULL,
  person_id UUID NOT NULL REFERENCES persons(id),
  toma_id UUID NOT NULL REFERENCES tomas(id),
  status VARCHAR(20) NOT NULL DEFAULT 'activo' CHECK (status IN (
    'pendiente', 'activo', 'suspendido', 'baja', 'cancelado'
  )),
  start_date DATE NOT NULL,
  end_date DATE,
  termination_reason VARCHAR(50),
  billing_address_id UUID REFERENCES addresses(id),
  payment_method VARCHAR(30) DEFAULT 'ventanilla'
    CHECK (payment_method IN (
      'ventanilla', 'domiciliacion', 'digital', 'oxxo', 'gestor_cobro'
    )),
  bank_account JSONB,
  digital_invoice BOOLEAN DEFAULT false,
  tariff_category VARCHAR(30) NOT NULL,
  social_tariff BOOLEAN DEFAULT false,
  special_conditions JSONB,
  preferred_contact_method VARCHAR(20) DEFAULT 'whatsapp',
  notification_channels VARCHAR(20)[] DEFAULT '{whatsapp}',
  previous_contract_id UUID REFERENCES contracts(id),
  documents JSONB DEFAULT '[]',
  notes TEXT,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now(),
  UNIQUE(tenant_id, contract_number)
);

CREATE INDEX idx_contracts_person ON contracts(tenant_id, person_id);
CREATE INDEX idx_contracts_toma ON contracts(tenant_id, toma_id);
CREATE INDEX idx_contracts_status ON contracts(tenant_id, status);

CREATE TABLE contract_notifications (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  contract_id UUID NOT NULL REFERENCES contracts(id),
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  person_id UUID NOT NULL REFERENCES persons(id),
  notification_type VARCHAR(20) DEFAULT 'secundario',
  channel VARCHAR(20) DEFAULT 'whatsapp',
  active BOOLEAN DEFAULT true,
  created_at TIMESTAMPTZ DEFAULT now()
);

-- Added, §5.1 rule 2 (every foreign key gets a B-tree index).
CREATE INDEX idx_contracts_explotacion ON contracts(explotacion_id);
CREATE INDEX idx_contracts_billing_address ON contracts(billing_address_id);
CREATE INDEX idx_contracts_previous ON contracts(previous_contract_id);
CREATE INDEX idx_contract_notifications_contract ON contract_notifications(contract_id);
CREATE INDEX idx_contract_notifications_person ON contract_notifications(person_id);
