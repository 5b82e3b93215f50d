-- SUPRA target schema, migration 0004: Domain 4 -- Infrastructure (seed 003 §2.1, §2.3).
--
-- Copied from the seed's DDL. tomas (legacy ptoserv) and meters (legacy contado) are
-- bidirectional in the sync priority table. tomas.meter_id <-> meters.toma_id is circular, so
-- fk_tomas_meter is added after meters exists, as in the seed.

CREATE TABLE sectores_hidraulicos (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  explotacion_id UUID NOT NULL REFERENCES explotaciones(id),
  parent_id UUID REFERENCES sectores_hidraulicos(id),
  code VARCHAR(20) NOT NULL,
  name VARCHAR(200) NOT NULL,
  level INTEGER NOT NULL DEFAULT 1,
  geom GEOGRAPHY(POLYGON, 4326),
  active BOOLEAN DEFAULT true,
  created_at TIMESTAMPTZ DEFAULT now(),
  UNIQUE(tenant_id, explotacion_id, code)
);

CREATE INDEX idx_sectores_geo ON sectores_hidraulicos USING GIST(geom);

CREATE TABLE acometidas (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  sector_id UUID NOT NULL REFERENCES sectores_hidraulicos(id),
  address_id UUID NOT NULL REFERENCES addresses(id),
  code VARCHAR(30) NOT NULL,
  diameter_mm INTEGER,
  material VARCHAR(50),
  installation_date DATE,
  status VARCHAR(20) DEFAULT 'activa'
    CHECK (status IN ('activa', 'inactiva', 'clausurada')),
  geom GEOGRAPHY(POINT, 4326),
  created_at TIMESTAMPTZ DEFAULT now(),
  UNIQUE(tenant_id, code)
);

CREATE TABLE tomas (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  explotacion_id UUID NOT NULL REFERENCES explotaciones(id),
  acometida_id UUID REFERENCES acometidas(id),
  address_id UUID NOT NULL REFERENCES addresses(id),
  toma_number VARCHAR(20) NOT NULL,
  toma_type VARCHAR(30) NOT NULL CHECK (toma_type IN (
    'domestica', 'comercial', 'industrial', 'gobierno',
    'mixta', 'rural', 'hidrante', 'fuente', 'temporal'
  )),
  status VARCHAR(20) NOT NULL DEFAULT 'activa' CHECK (status IN (
    'activa', 'cortada', 'suspendida', 'baja', 'clausurada', 'pendiente_alta'
  )),
  cut_date TIMESTAMPTZ,
  cut_reason VARCHAR(50),
  has_meter BOOLEAN DEFAULT true,
  meter_id UUID,
  billing_type VARCHAR(20) DEFAULT 'medido'
    CHECK (billing_type IN ('medido', 'cuota_fija', 'estimado')),
  tariff_category VARCHAR(30),
  billing_period VARCHAR(10) DEFAULT 'mensual'
    CHECK (billing_period IN ('mensual', 'bimestral', 'trimestral')),
  latitude DECIMAL(10, 7),
  longitude DECIMAL(10, 7),
  geom GEOGRAPHY(POINT, 4326),
  inhabitants INTEGER,
  property_type VARCHAR(30),
  notes TEXT,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now(),
  UNIQUE(tenant_id, toma_number)
);

CREATE INDEX idx_tomas_tenant_status ON tomas(tenant_id, status);
CREATE INDEX idx_tomas_explotacion ON tomas(tenant_id, explotacion_id);
CREATE INDEX idx_tomas_geo ON tomas USING GIST(geom);

CREATE TABLE meters (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  toma_id UUID REFERENCES tomas(id),
  serial_number VARCHAR(50) NOT NULL,
  brand VARCHAR(50),
  model VARCHAR(50),
  diameter_inches DECIMAL(4, 2),
  meter_type VARCHAR(30) CHECK (meter_type IN (
    'volumetrico', 'velocidad', 'electromagnetico', 'ultrasonico', 'smart'
  )),
  is_smart BOOLEAN DEFAULT false,
  communication_protocol VARCHAR(20),
  device_eui VARCHAR(50),
  last_communication TIMESTAMPTZ,
  installation_date DATE,
  last_calibration_date DATE,
  expected_replacement_date DATE,
  status VARCHAR(20) DEFAULT 'activo'
    CHECK (status IN ('activo', 'inactivo', 'averiado', 'retirado', 'en_almacen')),
  initial_reading DECIMAL(12, 3) DEFAULT 0,
  location_description VARCHAR(200),
  accessible BOOLEAN DEFAULT true,
  notes TEXT,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now(),
  UNIQUE(tenant_id, serial_number)
);

ALTER TABLE tomas ADD CONSTRAINT fk_tomas_meter
  FOREIGN KEY (meter_id) REFERENCES meters(id);

-- Added, §2.3 (acometidas.geom is listed with a GIST index; the DDL omits it).
CREATE INDEX idx_acometidas_geo ON acometidas USING GIST(geom);

-- Added, §5.1 rule 2 (every foreign key gets a B-tree index).
CREATE INDEX idx_sectores_parent ON sectores_hidraulicos(parent_id);
CREATE INDEX idx_acometidas_sector ON acometidas(sector_id);
CREATE INDEX idx_acometidas_address ON acometidas(address_id);
CREATE INDEX idx_tomas_acometida ON tomas(acometida_id);
CREATE INDEX idx_tomas_address ON tomas(address_id);
CREATE INDEX idx_tomas_meter ON tomas(meter_id);
CREATE INDEX idx_meters_toma ON meters(toma_id);

-- Added, §5.1 rule 3 (every status column gets a composite index with tenant_id).
CREATE INDEX idx_acometidas_status ON acometidas(tenant_id, status);
CREATE INDEX idx_meters_status ON meters(tenant_id, status);
