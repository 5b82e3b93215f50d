//! How a command's outcome becomes text on stderr and a process exit code.
//!
//! | outcome                                   | exit code |
//! |-------------------------------------------|-----------|
//! | success                                   | 0         |
//! | a check found problems (`mappings check`) | 1         |
//! | wrong arguments (clap)                    | 2         |
//! | runtime error                             | 2         |
//! | stdout closed early (`… | head`)          | 0         |
//!
//! A runtime error prints as one `error: …` line, then any `detail: …` and `hint: …` lines
//! that the libraries put in their messages (PostgreSQL style, upper or lower case).

use std::process::ExitCode;

/// Exit code of a runtime error.
const RUNTIME_ERROR: u8 = 2;

/// Prints a failed outcome and turns the result into the exit code.
pub fn finish(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        // The reader went away (`| head`): nothing left to tell anyone.
        Err(error) if crate::output::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            report(&error);
            ExitCode::from(RUNTIME_ERROR)
        }
    }
}

/// Prints an error the standard way (`error: …`, `detail: …`, `hint: …`) on stderr, for
/// commands that report a failure and still choose their own exit code.
pub fn report(error: &anyhow::Error) {
    eprint!("{}", render(error));
}

/// `error: <context>: <cause>` followed by the detail and hint lines of the whole chain.
/// A cause whose text is already part of an outer message (thiserror's `{source}`) is not
/// repeated.
fn render(error: &anyhow::Error) -> String {
    let mut primary: Vec<String> = Vec::new();
    let mut extra: Vec<String> = Vec::new();
    let mut seen = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !seen.is_empty() && seen.contains(text.trim()) {
            continue;
        }
        seen.push_str(&text);
        seen.push('\n');
        let mut lines = text.lines();
        if let Some(first) = lines.next() {
            primary.push(first.trim().to_string());
        }
        let mut rest: Vec<String> = Vec::new();
        for line in lines {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match labelled(line) {
                Some(l) => rest.push(l),
                // A continuation of the previous detail (or of the message itself).
                None => match rest.last_mut() {
                    Some(last) => {
                        last.push('\n');
                        last.push_str("  ");
                        last.push_str(line);
                    }
                    None => rest.push(format!("  {line}")),
                },
            }
        }
        extra.extend(rest);
    }
    // Hints last, details before them, each kept in chain order.
    extra.sort_by_key(|l| l.starts_with("hint:"));
    let mut out = format!("error: {}\n", primary.join(": "));
    for line in extra {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// `DETAIL:  x` / `detail: x` → `detail: x`, likewise for `HINT`; `None` for other lines.
fn labelled(line: &str) -> Option<String> {
    let (label, text) = line.split_once(':')?;
    let label = label.trim().to_ascii_lowercase();
    matches!(label.as_str(), "detail" | "hint").then(|| format!("{label}: {}", text.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_then_detail_then_hint() {
        let inner = anyhow::anyhow!("cannot reach supra database\nhint: check the server");
        let e = inner.context("applying migrations");
        assert_eq!(
            render(&e),
            "error: applying migrations: cannot reach supra database\nhint: check the server\n"
        );
        let e = anyhow::anyhow!("could not lock\nDETAIL:  gave up\n         twice\nHINT:  retry");
        assert_eq!(
            render(&e),
            "error: could not lock\ndetail: gave up\n  twice\nhint: retry\n"
        );
    }

    #[test]
    fn a_source_repeated_in_its_parent_is_printed_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer: {0}")]
        struct Outer(#[source] std::io::Error);
        let e = anyhow::Error::new(Outer(std::io::Error::other("refused")));
        assert_eq!(render(&e), "error: outer: refused\n");
    }
}
