//! Report output on stdout that survives a closed pipe (`supra-sync cleanup plan 1 | head`).
//!
//! [`out!`] and [`outln!`] work like `print!` and `println!` but return an error instead of
//! panicking when stdout is gone; [`crate::exit::finish`] treats a broken pipe as a quiet,
//! successful end, as Unix filters do.

use std::io::Write;

/// Writes formatted text to stdout; a closed pipe becomes an `io::Error` of kind
/// `BrokenPipe`.
pub fn write(args: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_fmt(args)?;
    stdout.flush()
}

/// Whether an error is stdout closing under us.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

/// `print!` that returns `std::io::Result<()>` instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write(format_args!($($arg)*))
    };
}

/// `println!` that returns `std::io::Result<()>` instead of panicking.
macro_rules! outln {
    () => {
        $crate::output::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {out, outln};
