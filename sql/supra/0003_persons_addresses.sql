-- SUPRA target schema, migration 0003: Domain 3 -- Persons and Addresses (seed 003 §2.1).
--
-- Copied from the seed's DDL (columns, types, CHECKs, UNIQUEs, indexes). Additions are marked.
-- persons is bidirectional (legacy persona); addresses is legacy -> SUPRA (direccion +
-- geolocalizacion, GPS varchar -> PostGIS point, §3.3 B3).

CREATE TABLE persons (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  person_type VARCHAR(10) NOT NULL CHECK (person_type IN ('fisica', 'moral')),
  rfc VARCHAR(13),
  curp VARCHAR(18),
  name VARCHAR(200) NOT NULL,
  first_name VARCHAR(100),
  last_name_paterno VARCHAR(100),
  last_name_materno VARCHAR(100),
  email VARCHAR(255),
  phone VARCHAR(20),
  phone_secondary VARCHAR(20),
  whatsapp VARCHAR(20),
  fiscal_regime VARCHAR(3),
  fiscal_use VARCHAR(4),
  fiscal_address JSONB,
  zip_code VARCHAR(5),
  vulnerable BOOLEAN DEFAULT false,
  vulnerability_type VARCHAR(50),
  digital_access BOOLEAN DEFAULT false,
  preferred_channel VARCHAR(20) DEFAULT 'whatsapp',
  language VARCHAR(5) DEFAULT 'es-MX',
  notes TEXT,
  tags VARCHAR(50)[] DEFAULT '{}',
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now(),
  UNIQUE(tenant_id, rfc)
);

CREATE INDEX idx_persons_tenant ON persons(tenant_id);
CREATE INDEX idx_persons_rfc ON persons(tenant_id, rfc);
CREATE INDEX idx_persons_curp ON persons(tenant_id, curp);
CREATE INDEX idx_persons_name ON persons USING gin(name gin_trgm_ops);
CREATE INDEX idx_persons_phone ON persons(tenant_id, phone);

CREATE TABLE addresses (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  explotacion_id UUID REFERENCES explotaciones(id),
  street VARCHAR(200) NOT NULL,
  exterior_number VARCHAR(20),
  interior_number VARCHAR(20),
  colonia VARCHAR(200),
  municipality VARCHAR(100),
  city VARCHAR(100),
  state VARCHAR(50) DEFAULT 'Queretaro',
  zip_code VARCHAR(5),
  country VARCHAR(2) DEFAULT 'MX',
  latitude DECIMAL(10, 7),
  longitude DECIMAL(10, 7),
  geom GEOGRAPHY(POINT, 4326),
  normalized_text TEXT GENERATED ALWAYS AS (
    LOWER(COALESCE(street, '') || ' ' || COALESCE(exterior_number, '') || ' ' ||
    COALESCE(colonia, '') || ' ' || COALESCE(zip_code, ''))
  ) STORED,
  address_type VARCHAR(20) DEFAULT 'callejero'
    CHECK (address_type IN ('callejero', 'correspondencia', 'fiscal', 'libre')),
  validated BOOLEAN DEFAULT false,
  inegi_cve_loc VARCHAR(20),
  sepomex_validated BOOLEAN DEFAULT false,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE INDEX idx_addresses_geo ON addresses USING GIST(geom);
CREATE INDEX idx_addresses_normalized ON addresses USING gin(normalized_text gin_trgm_ops);
CREATE INDEX idx_addresses_tenant ON addresses(tenant_id);

CREATE TABLE person_contacts (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  person_id UUID NOT NULL REFERENCES persons(id),
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  contact_type VARCHAR(20) NOT NULL CHECK (contact_type IN (
    'telefono_fijo', 'telefono_movil', 'email', 'whatsapp'
  )),
  value VARCHAR(255) NOT NULL,
  label VARCHAR(50),                          -- 'personal', 'trabajo', 'facturacion'
  verified BOOLEAN DEFAULT false,
  primary_contact BOOLEAN DEFAULT false,
  metadata JSONB DEFAULT '{}',
  created_at TIMESTAMPTZ DEFAULT now()
);

-- Added, §5.1 rule 2 (every foreign key gets a B-tree index).
CREATE INDEX idx_addresses_explotacion ON addresses(explotacion_id);
CREATE INDEX idx_person_contacts_person ON person_contacts(person_id);
-- Added, Appendix B: person_contacts stays relational "to find by phone".
CREATE INDEX idx_person_contacts_value ON person_contacts(tenant_id, value);
