//! Deterministic SUPRA ids.
//!
//! `sync_mappings` is the only authority for identity. When a legacy row has no mapping yet,
//! the engine mints its SUPRA id with [`mint_supra_id`]: a UUID v5 (SHA-1, name-based) of
//! `"<entity>:<legacy key>"` in a fixed project namespace, so replaying the same legacy row
//! (after a crash, from Kafka, during a re-snapshot) yields the same UUID and never a
//! duplicate. Rows of `[[also]]` tables (e.g. `explotacion_configs`) get
//! [`derive_supra_id`]`(parent id, table)`, also stable.

use uuid::Uuid;

/// The supra-sync UUID namespace: a fixed, arbitrary UUID. Never change it — every minted
/// SUPRA id depends on it.
pub const NAMESPACE: Uuid = Uuid::from_u128(0x8f0e_2c3a_51b4_5d7e_9a61_0c2d_4e8f_b713);

/// The SUPRA id for legacy row `legacy_key` of `entity` when none is mapped yet.
pub fn mint_supra_id(entity: &str, legacy_key: &str) -> Uuid {
    let mut name = Vec::with_capacity(entity.len() + legacy_key.len() + 1);
    name.extend_from_slice(entity.as_bytes());
    name.push(b':');
    name.extend_from_slice(legacy_key.as_bytes());
    Uuid::new_v5(&NAMESPACE, &name)
}

/// The id of the row of SUPRA table `table` that belongs to the primary SUPRA row `parent`.
pub fn derive_supra_id(parent: Uuid, table: &str) -> Uuid {
    let mut name = Vec::with_capacity(16 + table.len() + 1);
    name.extend_from_slice(parent.as_bytes());
    name.push(b'/');
    name.extend_from_slice(table.as_bytes());
    Uuid::new_v5(&NAMESPACE, &name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        assert_eq!(
            mint_supra_id("persona", "42"),
            mint_supra_id("persona", "42")
        );
        assert_ne!(
            mint_supra_id("persona", "42"),
            mint_supra_id("contrato", "42")
        );
        assert_eq!(mint_supra_id("persona", "42").get_version_num(), 5);
        let p = mint_supra_id("explotacion", "1");
        assert_ne!(derive_supra_id(p, "explotacion_configs"), p);
    }
}
