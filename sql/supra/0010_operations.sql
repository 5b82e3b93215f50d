-- SUPRA target schema, migration 0010: Domain 9 -- Operations (seed 003 §2.1).
--
-- Only work_orders is synced (legacy orden, bidirectional). It is a summary line in the seed
-- (30 columns; JSONB photos, gps_arrival, gps_departure, materials); designed here in the seed's
-- style. contacts, fraud_cases, sla_definitions are not in the sync priority table.
-- assigned_to / crew_id / created_by name users and crews, which are not synced: plain UUIDs, as
-- meter_readings.reader_user_id in the seed. order_type values come from domain_values
-- ('TIPO_ORDEN'), so it has no CHECK; priorities are the seed's sla_definitions priorities.

-- 30 columns.
CREATE TABLE work_orders (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  explotacion_id UUID NOT NULL REFERENCES explotaciones(id),
  order_number VARCHAR(30) NOT NULL,
  order_type VARCHAR(30) NOT NULL,              -- 'corte', 'reconexion', 'cambio_medidor', ...
  status VARCHAR(20) NOT NULL DEFAULT 'pendiente' CHECK (status IN (
    'pendiente', 'asignada', 'en_proceso', 'completada', 'cancelada', 'reprogramada'
  )),
  priority VARCHAR(10) NOT NULL DEFAULT 'normal' CHECK (priority IN (
    'urgente', 'alta', 'normal', 'baja'
  )),
  source VARCHAR(20) DEFAULT 'sistema' CHECK (source IN (
    'sistema', 'contacto', 'cobranza', 'lectura', 'inspeccion', 'manual'
  )),
  contract_id UUID REFERENCES contracts(id),
  toma_id UUID REFERENCES tomas(id),
  meter_id UUID REFERENCES meters(id),
  address_id UUID REFERENCES addresses(id),
  parent_work_order_id UUID REFERENCES work_orders(id),
  description TEXT,
  assigned_to UUID,                             -- users(id), not synced
  crew_id UUID,                                 -- crews(id), not synced
  scheduled_date DATE,
  sla_due_at TIMESTAMPTZ,
  started_at TIMESTAMPTZ,
  completed_at TIMESTAMPTZ,
  gps_arrival JSONB,                            -- {lat, lng, accuracy_m, at}
  gps_departure JSONB,                          -- {lat, lng, accuracy_m, at}
  photos JSONB DEFAULT '[]',                    -- [{url, description, taken_at}]
  materials JSONB DEFAULT '[]',                 -- [{item, quantity, unit_cost}]
  result_code VARCHAR(30),
  resolution_notes TEXT,
  total_cost DECIMAL(12, 2),
  created_by UUID,                              -- users(id), not synced
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now(),
  UNIQUE(tenant_id, order_number)
);

CREATE INDEX idx_work_orders_status ON work_orders(tenant_id, status);
CREATE INDEX idx_work_orders_assigned ON work_orders(tenant_id, assigned_to, status);
CREATE INDEX idx_work_orders_scheduled ON work_orders(tenant_id, scheduled_date);
CREATE INDEX idx_work_orders_explotacion ON work_orders(explotacion_id);
CREATE INDEX idx_work_orders_contract ON work_orders(contract_id);
CREATE INDEX idx_work_orders_toma ON work_orders(toma_id);
CREATE INDEX idx_work_orders_meter ON work_orders(meter_id);
CREATE INDEX idx_work_orders_address ON work_orders(address_id);
CREATE INDEX idx_work_orders_parent ON work_orders(parent_work_order_id);
