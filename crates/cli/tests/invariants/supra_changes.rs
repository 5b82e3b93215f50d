//! The SUPRA writer of the workload: changes made in SUPRA to persons, which the reverse
//! pipeline carries to legacy. It changes only columns that map 1:1 (its changes must come
//! back identical through legacy), on persons no legacy writer touches (legacy key a multiple
//! of 5, or born in SUPRA): no conflict is expected.

use rand::Rng;
use rand::rngs::StdRng;
use tokio_postgres::Client;

use crate::changes::pick;

/// The SUPRA writer: persons whose legacy key is a multiple of 5, and persons it creates.
#[derive(Default)]
pub struct SupraWriter {
    created: Vec<String>,
}

impl SupraWriter {
    /// Runs one random change (one transaction).
    pub async fn step(
        &mut self,
        c: &mut Client,
        rng: &mut StdRng,
    ) -> Result<&'static str, tokio_postgres::Error> {
        let phone = format!("443{:07}", rng.gen_range(0..10_000_000));
        let email: Option<String> = rng
            .gen_bool(0.7)
            .then(|| format!("p{}@correo.mx", rng.gen_range(0..1000)));
        match rng.gen_range(0..10) {
            0 | 1 => {
                // A person born in SUPRA, sometimes edited in the same transaction.
                let first = pick(rng, &["Andrés", "Zoë", "Íñigo", "Ana"]).to_string();
                let last = pick(rng, &["Núñez", "Güémez", "Ortiz"]).to_string();
                let edit = rng.gen_bool(0.5);
                let tx = c.transaction().await?;
                let id: String = tx
                    .query_one(
                        "INSERT INTO persons (tenant_id, person_type, name, first_name, last_name_paterno, phone)
                         SELECT id, 'fisica', $2 || ' ' || $1, $1, $2, '4420000000' FROM tenants WHERE slug = 'cea-queretaro'
                         RETURNING id::text",
                        &[&first, &last],
                    )
                    .await?
                    .get(0);
                if edit {
                    tx.execute(
                        "UPDATE persons SET phone = $2, email = $3, updated_at = now() WHERE id = $1::text::uuid",
                        &[&id, &phone, &email],
                    )
                    .await?;
                }
                tx.commit().await?;
                self.created.push(id);
                Ok(if edit {
                    "insert+update persons"
                } else {
                    "insert persons"
                })
            }
            2 if self.created.len() > 2 => {
                let id = self.created.remove(0);
                c.execute("DELETE FROM persons WHERE id = $1::text::uuid", &[&id])
                    .await?;
                Ok("delete persons")
            }
            3 if !self.created.is_empty() => {
                let id = self.created[rng.gen_range(0..self.created.len())].clone();
                c.execute(
                    "UPDATE persons SET phone = $2, email = $3, updated_at = now() WHERE id = $1::text::uuid",
                    &[&id, &phone, &email],
                )
                .await?;
                Ok("update persons born in SUPRA")
            }
            _ => {
                c.execute(
                    "UPDATE persons SET phone = $1, email = $2, vulnerable = NOT coalesce(vulnerable, false), updated_at = now()
                      WHERE id = (SELECT supra_id FROM supra_sync.sync_mappings
                                   WHERE entity_type = 'persona' AND legacy_id ~ '^[0-9]+$'
                                     AND legacy_id::numeric < 90000000 AND mod(legacy_id::numeric, 5) = 0
                                   ORDER BY random() LIMIT 1)",
                    &[&phone, &email],
                )
                .await?;
                Ok("update persons")
            }
        }
    }
}
