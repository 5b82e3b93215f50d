-- SUPRA target schema, migration 0009: Domain 8 -- Payments and Collections (seed 003 §2.1).
--
-- Only the synced tables: payments (legacy opecargest + opedesglos, legacy -> SUPRA) and
-- payment_plans (convenios). Both are summary lines in the seed (22 and 14 columns; JSONB only
-- installments); designed here in the seed's style. delinquency_procedures and
-- payment_reconciliations are not in the sync priority table and are left out.
-- Channels are the union of contracts.payment_method and the seed's reconciliation channels;
-- payment_form holds the SAT forma_pago code (sat_catalogs catalog_type 'forma_pago').

-- 22 columns, no JSONB.
CREATE TABLE payments (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  contract_id UUID NOT NULL REFERENCES contracts(id),
  person_id UUID REFERENCES persons(id),          -- payer, when known
  invoice_id UUID REFERENCES invoices(id),        -- NULL when the payment spans several invoices
  office_id UUID REFERENCES offices(id),          -- cash desk payments
  payment_number VARCHAR(30) NOT NULL,
  payment_date TIMESTAMPTZ NOT NULL,
  amount DECIMAL(12, 2) NOT NULL,
  currency VARCHAR(3) DEFAULT 'MXN',
  channel VARCHAR(30) NOT NULL CHECK (channel IN (
    'ventanilla', 'domiciliacion', 'digital', 'oxxo', 'gestor_cobro',
    'spei', 'banco', 'tarjeta'
  )),
  payment_form VARCHAR(2),                        -- SAT forma_pago: '01', '03', '04', '28', ...
  reference VARCHAR(100),
  bank_reference VARCHAR(100),
  cashier_user_id UUID,                           -- users(id); auth tables are not synced
  status VARCHAR(20) NOT NULL DEFAULT 'aplicado' CHECK (status IN (
    'pendiente', 'aplicado', 'cancelado', 'reversado'
  )),
  reconciled BOOLEAN DEFAULT false,
  cancelled_at TIMESTAMPTZ,
  cancellation_reason VARCHAR(200),
  notes TEXT,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now(),
  UNIQUE(tenant_id, payment_number)
);

CREATE INDEX idx_payments_contract ON payments(tenant_id, contract_id, payment_date DESC);
CREATE INDEX idx_payments_status ON payments(tenant_id, status);
CREATE INDEX idx_payments_date ON payments(tenant_id, payment_date);
CREATE INDEX idx_payments_contract_fk ON payments(contract_id);
CREATE INDEX idx_payments_person ON payments(person_id);
CREATE INDEX idx_payments_invoice ON payments(invoice_id);
CREATE INDEX idx_payments_office ON payments(office_id);

-- 14 columns; JSONB: installments [{number, due_date, amount, paid, paid_at, payment_id}].
CREATE TABLE payment_plans (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  contract_id UUID NOT NULL REFERENCES contracts(id),
  person_id UUID NOT NULL REFERENCES persons(id),
  plan_number VARCHAR(30) NOT NULL,
  total_debt DECIMAL(12, 2) NOT NULL,
  down_payment DECIMAL(12, 2) DEFAULT 0,
  installment_count INTEGER NOT NULL CHECK (installment_count > 0),
  installments JSONB NOT NULL DEFAULT '[]',
  start_date DATE NOT NULL,
  status VARCHAR(20) NOT NULL DEFAULT 'activo' CHECK (status IN (
    'activo', 'cumplido', 'incumplido', 'cancelado'
  )),
  notes TEXT,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now(),
  UNIQUE(tenant_id, plan_number)
);

CREATE INDEX idx_payment_plans_contract ON payment_plans(tenant_id, contract_id);
CREATE INDEX idx_payment_plans_status ON payment_plans(tenant_id, status);
CREATE INDEX idx_payment_plans_contract_fk ON payment_plans(contract_id);
CREATE INDEX idx_payment_plans_person ON payment_plans(person_id);
