//! Log output: `tracing` events to stderr, as text or JSON lines, so stdout stays free for
//! reports that scripts read.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::options::{GlobalOptions, LogFormat};

/// Installs the global subscriber. `RUST_LOG` wins over `-v` when set.
pub fn init(options: &GlobalOptions) {
    let default = match options.verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    // A second subscriber can only exist in tests; ignoring that error is harmless.
    let _ = match options.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
