//! The shipped `mappings/` directory loads and validates.
use std::path::Path;

use supra_sync_mapping::MappingSet;

#[test]
fn shipped_mappings_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings");
    let set = match MappingSet::load_dir(&dir) {
        Ok(s) => s,
        Err(d) => panic!("{d}"),
    };
    let names: Vec<&str> = set.entities().iter().map(|e| e.name()).collect();
    println!("{names:?}");
}
