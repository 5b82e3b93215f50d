//! A deterministic legacy workload over the fixture, one small transaction at a time: inserts,
//! updates, deletes and key changes of persons and readings, contract, invoice, address, GPS
//! and tariff updates, and transactions spanning several tables.

use tokio_postgres::Client;

/// New persons get keys from here (the fixture's are far below).
const NEW: i64 = 80_000_000;

/// The statements of transaction `i` (of [`STEPS`]).
fn step(i: i64) -> Vec<String> {
    let nth = |table: &str, key: &str| {
        format!(
            "(SELECT {key} FROM cf_quere_pro.{table} WHERE {key} < {NEW} ORDER BY {key} OFFSET {i} LIMIT 1)"
        )
    };
    let person = NEW + i;
    let reading = NEW + i;
    match i % 8 {
        0 => vec![format!(
            "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnif, prsnomape, prsnombre, prstelef, prssnvulnerable, prshsthora)
             VALUES ({person}, 'F', 'KAF{person:010}', 'Ñúñez Öller', 'José {i}', '4420000{i:03}', 'N', localtimestamp)"
        )],
        1 => vec![
            format!("UPDATE cf_quere_pro.persona SET prsnombre = 'Cambiado {i}', prshsthora = localtimestamp WHERE prsid = {}", nth("persona", "prsid")),
            format!("UPDATE cf_quere_pro.contrato SET cnttestado = 'S', cnttformapago = 'D', cntthsthora = localtimestamp WHERE cnttnum = {}", nth("contrato", "cnttnum")),
        ],
        2 => vec![format!(
            "INSERT INTO cf_quere_pro.lectura (lecid, leccontid, lecptosid, lecfecha, lecvalor, lectipo, lecestado, leclat, leclong, lecobserv)
             SELECT {reading}, conid, conptosid, timestamp '2024-05-01 10:00' + interval '1 day' * {i}, {i}, 'L', 'V', '20.59', '-100.39', 'lectura ñ'
               FROM cf_quere_pro.contado WHERE conid < {NEW} ORDER BY conid OFFSET {i} LIMIT 1"
        )],
        3 => vec![
            format!("UPDATE cf_quere_pro.lectura SET lecvalor = 42, lecobserv = NULL WHERE lecid = {}", nth("lectura", "lecid")),
            format!("UPDATE cf_quere_pro.geolocalizacion SET geoloclat = '20,6123', geoloclong = '-100,4011' WHERE geolocdirid = {}", nth("geolocalizacion", "geolocdirid")),
        ],
        4 => vec![
            // Key changes: a person inserted earlier (nothing references it) and a reading.
            format!("UPDATE cf_quere_pro.persona SET prsid = prsid + 1000000 WHERE prsid = {}", NEW + i - 4),
            format!("UPDATE cf_quere_pro.lectura SET lecid = lecid + 1000000, lecvalor = 7 WHERE lecid = {}", NEW + i - 2),
        ],
        5 => vec![
            format!("UPDATE cf_quere_pro.factura SET facimporte = 1234.5678901234567, factotal = 0.30000000000000004 WHERE facid = {}", nth("factura", "facid")),
            format!("UPDATE cf_quere_pro.direccion SET dirtexto = 'Calle Ñandú {i}', dirnumint = NULL, dirhsthora = localtimestamp WHERE dirid = {}", nth("direccion", "dirid")),
        ],
        6 => vec![format!(
            "UPDATE cf_quere_pro.aplictarif SET aptprecio = 0.123456789012345 + {i}
              WHERE (apttarid, aptfecapl, aptlimi) = (SELECT apttarid, aptfecapl, aptlimi FROM cf_quere_pro.aplictarif
                                                       ORDER BY apttarid, aptfecapl, aptlimi OFFSET {i} LIMIT 1)"
        )],
        _ => vec![
            // A person inserted and a reading inserted earlier are deleted.
            format!("DELETE FROM cf_quere_pro.lectura WHERE lecid = {}", NEW + i - 5 + 1000000),
            format!(
                "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre) VALUES ({person}, 'J', 'Moral {i}')"
            ),
            format!("DELETE FROM cf_quere_pro.persona WHERE prsid = {person}"),
        ],
    }
}

/// Number of transactions [`run`] commits.
pub const STEPS: i64 = 48;

/// Runs the workload; returns the number of transactions committed.
pub async fn run(legacy: &mut Client) -> i64 {
    for i in 0..STEPS {
        let tx = legacy.transaction().await.unwrap();
        for sql in step(i) {
            tx.batch_execute(&sql)
                .await
                .unwrap_or_else(|e| panic!("step {i}: {sql}: {e}"));
        }
        tx.commit().await.unwrap();
    }
    STEPS
}
