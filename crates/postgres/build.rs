//! Rebuild when the embedded SQL migrations change.
fn main() {
    println!("cargo:rerun-if-changed=../../sql/supra");
    println!("cargo:rerun-if-changed=../../sql/sync");
}
