//! Random changes on legacy, one small transaction at a time: what the workload's legacy
//! writers do (the SUPRA writer is in `supra_changes.rs`).
//!
//! Writers never touch the same rows, so no conflict is expected (conflicts are another
//! test's job): legacy writer `w` of `n` touches seeded rows whose key ≡ `w` (mod `n`) and
//! rows it inserted itself (keys `90,000,000 + w·1,000,000 + i`); persons whose `prsid` is a
//! multiple of 5 belong to the SUPRA writer, which changes only columns that map 1:1 (its
//! changes must come back identical through legacy). Contract holders, contract deletes and
//! `tabladesc`/`concepto` are left alone: invoices, lines and lookups join them without being
//! recomputed when they change (by design), so a recomputation from the final legacy state
//! would legitimately differ.

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use tokio_postgres::Client;

/// Names with accents and symbols, plus blanks (mapped to NULL by `trim_nullif`).
const NAMES: &[&str] = &[
    "José Ñúñez",
    "María Martínez-Öller",
    "Álvarez D'Ángelo",
    "Zoë Çelik",
    "Üriel Güémez",
    "Ana",
    "  espacios  ",
    "",
];
/// GPS text as legacy holds it: decimal commas, junk, swapped pairs.
const GPS: &[(&str, &str)] = &[
    ("20.5888", "-100.3899"),
    ("20,6123", "-100,4011"),
    ("N/A", ""),
    ("-100.39", "20.59"),
    ("0", "0"),
];
/// Money as DOUBLE PRECISION: zero, the DECIMAL(12,2) edge, negative, float artifacts.
const MONEY: &[&str] = &[
    "0",
    "9999999999",
    "-1234.5",
    "0.30000000000000004",
    "1234.5678901234567",
    "0.005",
];
/// Meter readings: NUMERIC(10,0) into DECIMAL(12,3).
const READINGS: &[&str] = &["0", "999999999", "-1", "42"];

/// One legacy writer's state.
pub struct LegacyWriter {
    /// This writer's number.
    pub w: i64,
    /// Number of legacy writers.
    pub n: i64,
    next: i64,
    persons: Vec<i64>,
    readings: Vec<i64>,
}

pub(crate) fn pick<'a>(rng: &mut StdRng, items: &'a [&'a str]) -> &'a str {
    items.choose(rng).copied().unwrap_or_default()
}

/// A mostly incompressible text of `len` characters (stored out of line: TOASTed).
pub(crate) fn large_text(rng: &mut StdRng, len: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
    let mut s: String = (0..len)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect();
    s.push_str(" fin — observación");
    s
}

impl LegacyWriter {
    /// Writer `w` of `n`.
    pub fn new(w: i64, n: i64) -> LegacyWriter {
        LegacyWriter {
            w,
            n,
            next: 0,
            persons: Vec::new(),
            readings: Vec::new(),
        }
    }

    fn fresh_id(&mut self) -> i64 {
        self.next += 1;
        90_000_000 + self.w * 1_000_000 + self.next
    }

    /// `AND mod(<key>, n) = w`: the seeded rows this writer owns.
    fn mine(&self, key: &str) -> String {
        format!("mod({key}, {}) = {} AND {key} < 90000000", self.n, self.w)
    }

    /// Runs one random change (one transaction); returns what it did.
    pub async fn step(
        &mut self,
        c: &mut Client,
        rng: &mut StdRng,
    ) -> Result<&'static str, tokio_postgres::Error> {
        let tx = c.transaction().await?;
        let what = match rng.gen_range(0..100) {
            0..=11 => self.insert_person(&tx, rng).await?,
            12..=29 => self.update_person(&tx, rng).await?,
            30..=34 => self.rekey_person(&tx).await?,
            35..=39 => self.delete_person(&tx).await?,
            40..=54 => self.update_contract(&tx, rng).await?,
            55..=64 => self.change_reading(&tx, rng).await?,
            65..=72 => self.update_invoice(&tx, rng).await?,
            73..=78 => self.update_shared(&tx, rng).await?,
            79..=84 => self.update_address(&tx, rng).await?,
            85..=92 => self.change_order(&tx, rng).await?,
            _ => {
                // Several tables in one transaction.
                self.insert_person(&tx, rng).await?;
                self.update_contract(&tx, rng).await?;
                self.change_reading(&tx, rng).await?;
                "multi"
            }
        };
        tx.commit().await?;
        Ok(what)
    }

    async fn insert_person(
        &mut self,
        tx: &tokio_postgres::Transaction<'_>,
        rng: &mut StdRng,
    ) -> Result<&'static str, tokio_postgres::Error> {
        let id = self.fresh_id();
        let moral = rng.gen_bool(0.2);
        let first = (!moral).then(|| pick(rng, NAMES).to_string());
        let surnames = pick(rng, NAMES).to_string();
        let rfc = rng
            .gen_bool(0.5)
            .then(|| format!("WK{}{:010}", self.w, id % 10_000_000_000));
        let phone: Option<String> = rng
            .gen_bool(0.7)
            .then(|| format!("442{:07}", rng.gen_range(0..10_000_000)));
        let kind = if moral { "J" } else { "F" };
        tx.execute(
            "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnif, prsnomape, prsnombre, prstelef, prssnvulnerable, prsfecreg, prshsthora)
             VALUES ($1::text::numeric, $2, $3, $4, $5, $6, 'N', CASE WHEN random() < 0.5 THEN localtimestamp END, localtimestamp)",
            &[&id.to_string(), &kind, &rfc, &surnames, &first, &phone],
        )
        .await?;
        self.persons.push(id);
        Ok("insert persona")
    }

    async fn update_person(
        &mut self,
        tx: &tokio_postgres::Transaction<'_>,
        rng: &mut StdRng,
    ) -> Result<&'static str, tokio_postgres::Error> {
        let name = pick(rng, NAMES).to_string();
        let phone: Option<String> = rng
            .gen_bool(0.6)
            .then(|| format!("441{:07}", rng.gen_range(0..10_000_000)));
        // Not the SUPRA writer's persons, nor persons born in SUPRA.
        let cond = format!(
            "{} AND mod(prsid, 5) <> 0 AND prshstusu IS DISTINCT FROM 'SUPRA'",
            self.mine("prsid")
        );
        tx.execute(
            &format!(
                "UPDATE cf_quere_pro.persona SET prsnombre = $1, prstelef = $2, prshsthora = localtimestamp
                  WHERE prsid = (SELECT prsid FROM cf_quere_pro.persona WHERE {cond} ORDER BY random() LIMIT 1)"
            ),
            &[&name, &phone],
        )
        .await?;
        Ok("update persona")
    }

    /// Moves a person this writer inserted (nothing references it) to a new key.
    async fn rekey_person(
        &mut self,
        tx: &tokio_postgres::Transaction<'_>,
    ) -> Result<&'static str, tokio_postgres::Error> {
        let Some(old) = self.persons.pop() else {
            return Ok("nothing to rekey");
        };
        let new = self.fresh_id();
        tx.execute(
            "UPDATE cf_quere_pro.persona SET prsid = $2::text::numeric WHERE prsid = $1::text::numeric",
            &[&old.to_string(), &new.to_string()],
        )
        .await?;
        self.persons.push(new);
        Ok("rekey persona")
    }

    async fn delete_person(
        &mut self,
        tx: &tokio_postgres::Transaction<'_>,
    ) -> Result<&'static str, tokio_postgres::Error> {
        if self.persons.len() < 3 {
            return Ok("nothing to delete");
        }
        let id = self.persons.remove(0);
        tx.execute(
            "DELETE FROM cf_quere_pro.persona WHERE prsid = $1::text::numeric",
            &[&id.to_string()],
        )
        .await?;
        Ok("delete persona")
    }

    /// Contract status and payment method; now and then a large observation. Most updates
    /// leave the (TOASTed) observation untouched: pgoutput sends it as "unchanged".
    async fn update_contract(
        &mut self,
        tx: &tokio_postgres::Transaction<'_>,
        rng: &mut StdRng,
    ) -> Result<&'static str, tokio_postgres::Error> {
        let row = format!(
            "(SELECT cnttnum FROM cf_quere_pro.contrato WHERE {} ORDER BY random() LIMIT 1)",
            self.mine("cnttnum")
        );
        if rng.gen_bool(0.25) {
            let len = rng.gen_range(9_000..14_000);
            let text = large_text(rng, len);
            tx.execute(
                &format!("UPDATE cf_quere_pro.contrato SET cnttobserv = $1 WHERE cnttnum = {row}"),
                &[&text],
            )
            .await?;
            return Ok("update contrato (TOAST)");
        }
        let estado = pick(rng, &["A", "S", "P", "B", "X"]).to_string();
        let pago = pick(rng, &["V", "D", "G", "O", "C"]).to_string();
        tx.execute(
            &format!(
                "UPDATE cf_quere_pro.contrato SET cnttestado = $1, cnttformapago = $2, cntthsthora = localtimestamp WHERE cnttnum = {row}"
            ),
            &[&estado, &pago],
        )
        .await?;
        Ok("update contrato")
    }

    async fn change_reading(
        &mut self,
        tx: &tokio_postgres::Transaction<'_>,
        rng: &mut StdRng,
    ) -> Result<&'static str, tokio_postgres::Error> {
        let value = pick(rng, READINGS).to_string();
        match (rng.gen_range(0..4), self.readings.len()) {
            (0, n) if n > 0 => {
                let old = self.readings.swap_remove(rng.gen_range(0..n));
                let new = self.fresh_id();
                tx.execute(
                    "UPDATE cf_quere_pro.lectura SET lecid = $2::text::numeric, lecvalor = $3::text::numeric WHERE lecid = $1::text::numeric",
                    &[&old.to_string(), &new.to_string(), &value],
                )
                .await?;
                self.readings.push(new);
                Ok("rekey lectura")
            }
            (1, n) if n > 2 => {
                let id = self.readings.swap_remove(0);
                tx.execute(
                    "DELETE FROM cf_quere_pro.lectura WHERE lecid = $1::text::numeric",
                    &[&id.to_string()],
                )
                .await?;
                Ok("delete lectura")
            }
            (2, _) => {
                tx.execute(
                    &format!(
                        "UPDATE cf_quere_pro.lectura SET lecvalor = $1::text::numeric, lecobserv = NULL
                          WHERE lecid = (SELECT lecid FROM cf_quere_pro.lectura WHERE {} ORDER BY random() LIMIT 1)",
                        self.mine("lecid")
                    ),
                    &[&value],
                )
                .await?;
                Ok("update lectura")
            }
            _ => {
                let id = self.fresh_id();
                let lat = pick(rng, &["20.59", "", "N/A"]).to_string();
                tx.execute(
                    "INSERT INTO cf_quere_pro.lectura (lecid, leccontid, lecptosid, lecfecha, lecvalor, lectipo, lecestado, leclat, leclong, lecobserv)
                     SELECT $1::text::numeric, conid, conptosid, date_trunc('second', localtimestamp), $2::text::numeric, 'L', 'V', $3, '-100.39', 'lectura ñ'
                       FROM cf_quere_pro.contado WHERE conid < 90000000 ORDER BY random() LIMIT 1",
                    &[&id.to_string(), &value, &lat],
                )
                .await?;
                self.readings.push(id);
                Ok("insert lectura")
            }
        }
    }

    async fn update_invoice(
        &mut self,
        tx: &tokio_postgres::Transaction<'_>,
        rng: &mut StdRng,
    ) -> Result<&'static str, tokio_postgres::Error> {
        let amount = pick(rng, MONEY).to_string();
        if rng.gen_bool(0.5) {
            tx.execute(
                &format!(
                    "UPDATE cf_quere_pro.linfactura SET linfacimporte = $1::text::float8, linfacprecio = $1::text::float8 / 3
                      WHERE (linfacid, linfacnum) = (SELECT linfacid, linfacnum FROM cf_quere_pro.linfactura WHERE {} ORDER BY random() LIMIT 1)",
                    self.mine("linfacid")
                ),
                &[&amount],
            )
            .await?;
            return Ok("update linfactura");
        }
        tx.execute(
            &format!(
                "UPDATE cf_quere_pro.factura SET facimporte = $1::text::float8, factotal = $1::text::float8, facestado = 'V'
                  WHERE facid = (SELECT facid FROM cf_quere_pro.factura WHERE {} ORDER BY random() LIMIT 1)",
                self.mine("facid")
            ),
            &[&amount],
        )
        .await?;
        Ok("update factura")
    }

    /// Rows every writer could pick; only writer 0 changes them.
    async fn update_shared(
        &mut self,
        tx: &tokio_postgres::Transaction<'_>,
        rng: &mut StdRng,
    ) -> Result<&'static str, tokio_postgres::Error> {
        if self.w != 0 {
            return self.update_person(tx, rng).await;
        }
        let rate = pick(rng, &["0.123456789012345", "-0.5", "0", "1e-10"]).to_string();
        if rng.gen_bool(0.5) {
            tx.execute(
                "UPDATE cf_quere_pro.explotacion SET exppctrecargo = $1::text::float8, expnombre = 'Explotación Ñ ' || left(md5(random()::text), 4)
                  WHERE expid = (SELECT expid FROM cf_quere_pro.explotacion ORDER BY random() LIMIT 1)",
                &[&rate],
            )
            .await?;
            return Ok("update explotacion");
        }
        let price = pick(rng, MONEY).to_string();
        tx.execute(
            "UPDATE cf_quere_pro.aplictarif SET aptprecio = $1::text::float8
              WHERE (apttarid, aptfecapl, aptlimi) = (SELECT apttarid, aptfecapl, aptlimi FROM cf_quere_pro.aplictarif ORDER BY random() LIMIT 1)",
            &[&price],
        )
        .await?;
        Ok("update aplictarif")
    }

    async fn update_address(
        &mut self,
        tx: &tokio_postgres::Transaction<'_>,
        rng: &mut StdRng,
    ) -> Result<&'static str, tokio_postgres::Error> {
        let (lat, lng) = *GPS.choose(rng).unwrap_or(&GPS[0]);
        let pick_row = format!(
            "(SELECT geolocdirid FROM cf_quere_pro.geolocalizacion WHERE {} ORDER BY random() LIMIT 1)",
            self.mine("geolocdirid")
        );
        if rng.gen_bool(0.5) {
            tx.execute(
                &format!("UPDATE cf_quere_pro.geolocalizacion SET geoloclat = $1, geoloclong = $2 WHERE geolocdirid = {pick_row}"),
                &[&lat, &lng],
            )
            .await?;
            return Ok("update geolocalizacion");
        }
        let street = pick(rng, NAMES).to_string();
        tx.execute(
            &format!(
                "UPDATE cf_quere_pro.direccion SET dirtexto = $1, dirnumint = NULL, dirhsthora = localtimestamp
                  WHERE dirid = (SELECT dirid FROM cf_quere_pro.direccion WHERE {} ORDER BY random() LIMIT 1)",
                self.mine("dirid")
            ),
            &[&street],
        )
        .await?;
        Ok("update direccion")
    }

    async fn change_order(
        &mut self,
        tx: &tokio_postgres::Transaction<'_>,
        rng: &mut StdRng,
    ) -> Result<&'static str, tokio_postgres::Error> {
        let estado = pick(rng, &["P", "A", "E", "F", "C"]).to_string();
        if rng.gen_bool(0.3) {
            let id = self.fresh_id();
            tx.execute(
                "INSERT INTO cf_quere_pro.orden (ordid, ordtipo, ordestado, ordexpid, ordptosid, ordcnttnum, ordprioridad, orddesc, ordfeccrea, ordhsthora)
                 SELECT $1::text::numeric, 1, $2, cnttexpid, cnttptosid, cnttnum, 2, 'Revisión de toma — ñ', localtimestamp, localtimestamp
                   FROM cf_quere_pro.contrato WHERE cnttnum < 90000000 ORDER BY random() LIMIT 1",
                &[&id.to_string(), &estado],
            )
            .await?;
            return Ok("insert orden");
        }
        tx.execute(
            &format!(
                "UPDATE cf_quere_pro.orden SET ordestado = $1, orddesc = NULL, ordhsthora = localtimestamp
                  WHERE ordid = (SELECT ordid FROM cf_quere_pro.orden WHERE {} ORDER BY random() LIMIT 1)",
                self.mine("ordid")
            ),
            &[&estado],
        )
        .await?;
        Ok("update orden")
    }
}
