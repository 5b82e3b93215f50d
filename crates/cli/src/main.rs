//! The `supra-sync` binary: argument parsing and wiring only.

use clap::Parser;

/// supra-sync keeps AquaCIS (cf_quere_pro) and SUPRA in step during the migration.
#[derive(Parser, Debug)]
#[command(name = "supra-sync", version, about)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
