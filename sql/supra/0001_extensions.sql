-- SUPRA target schema, migration 0001: extensions (seed 003 §2.5).
--
-- Kept from §2.5: uuid-ossp, pgcrypto, pg_trgm, postgis, btree_gist.
-- Left out (see sql/README.md): vector (pgvector: only the AI tables, which are not synced),
-- timescaledb (hypertables become native monthly range partitions, see 0006), pg_cron
-- (partition upkeep is called by supra-sync / the operator, see 0006).
--
-- postgis is not a trusted extension: this file must run as a superuser, or the extensions must
-- already exist (then IF NOT EXISTS makes it a no-op). Everything lives in schema public, as in
-- the seed; later files schema-qualify PostGIS types as public.geography.

CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA public;   -- UUID generation (v1/v5 helpers)
CREATE EXTENSION IF NOT EXISTS pgcrypto    WITH SCHEMA public;   -- gen_random_bytes, crypt/bcrypt
CREATE EXTENSION IF NOT EXISTS pg_trgm     WITH SCHEMA public;   -- gin_trgm_ops fuzzy search
CREATE EXTENSION IF NOT EXISTS postgis     WITH SCHEMA public;   -- GEOGRAPHY(POINT|POLYGON, 4326)
CREATE EXTENSION IF NOT EXISTS btree_gist  WITH SCHEMA public;   -- excl_tariff_validity (uuid/varchar =)
