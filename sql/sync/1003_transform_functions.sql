-- supra-sync bookkeeping, migration 1003: the seed's transformation functions (seed 003 §3.3 B3).
--
-- supra-sync evaluates mapping expressions in Rust (DESIGN.md: legacy_bool, legacy_gps_to_geom
-- and legacy_money are built-in functions of the mapping crate, nothing is spliced into SQL).
-- These SQL versions are kept in supra_sync as the reference the Rust built-ins are tested
-- against (same input -> same output), and for operators' reconciliation queries. The engine
-- does not call them.
--
-- legacy_bool and legacy_money are the seed's, unchanged. legacy_gps_to_geom keeps the seed's
-- shape test and adds what the seed's risk matrix asks of it ("handles NULL/malformed
-- gracefully"): surrounding blanks are trimmed, and out-of-range coordinates (which make the
-- geography cast raise) and the 0,0 placeholder give NULL instead of an error / a point in the
-- Gulf of Guinea.

-- char(1) 'S'/'Y'/'X' -> true; anything else, NULL included -> false.
CREATE FUNCTION supra_sync.legacy_bool(val CHAR) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN val IN ('S', 'Y', 'X') THEN true ELSE false END;
$$;

-- VARCHAR latitude/longitude -> GEOGRAPHY(POINT, 4326), or NULL.
-- Created through EXECUTE so that the PostGIS names are qualified with whatever schema PostGIS
-- is installed in (public in sql/supra; possibly another in a SUPRA database managed elsewhere).
DO $do$
DECLARE
  s name;
BEGIN
  SELECT e.extnamespace::regnamespace::name INTO s FROM pg_extension e WHERE e.extname = 'postgis';
  IF s IS NULL THEN
    RAISE EXCEPTION 'supra_sync needs the postgis extension (SUPRA stores GEOGRAPHY columns)'
      USING ERRCODE = 'undefined_object',
            HINT = 'CREATE EXTENSION postgis (as a superuser), then rerun.';
  END IF;
  EXECUTE format($f$
    CREATE FUNCTION supra_sync.legacy_gps_to_geom(lat VARCHAR, lng VARCHAR)
    RETURNS %1$I.geography
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
      SELECT CASE
        WHEN btrim(lat) ~ '^-?\d+\.?\d*$' AND btrim(lng) ~ '^-?\d+\.?\d*$' THEN
          CASE
            WHEN btrim(lat)::double precision BETWEEN -90 AND 90
             AND btrim(lng)::double precision BETWEEN -180 AND 180
             AND NOT (btrim(lat)::double precision = 0 AND btrim(lng)::double precision = 0)
            THEN %1$I.ST_SetSRID(
                   %1$I.ST_MakePoint(btrim(lng)::double precision, btrim(lat)::double precision),
                   4326)::%1$I.geography
          END
      END;
    $$
  $f$, s);
END
$do$;

-- double precision money -> DECIMAL(12,2), rounded half away from zero (numeric ROUND).
CREATE FUNCTION supra_sync.legacy_money(val DOUBLE PRECISION) RETURNS DECIMAL(12,2)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT ROUND(val::numeric, 2)::DECIMAL(12,2);
$$;
