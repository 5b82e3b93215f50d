//! Plain-text tables and terminal colour for the operator commands (`conflicts`, `log`,
//! `status`). Colour only when stdout is a terminal and `NO_COLOR` is unset; markers
//! (`*`, `~`) carry the same information without it.

use std::io::IsTerminal;

/// ANSI colour, on only for a terminal.
#[derive(Debug, Clone, Copy)]
pub struct Paint {
    on: bool,
}

impl Paint {
    /// Colour when stdout is a terminal and `NO_COLOR` is not set.
    pub fn detect() -> Paint {
        Paint {
            on: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    fn wrap(self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Differences and problems.
    pub fn red(self, text: &str) -> String {
        self.wrap("31", text)
    }

    /// Healthy states.
    pub fn green(self, text: &str) -> String {
        self.wrap("32", text)
    }

    /// Warnings.
    pub fn yellow(self, text: &str) -> String {
        self.wrap("33", text)
    }

    /// Headings.
    pub fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }

    /// Secondary information.
    pub fn dim(self, text: &str) -> String {
        self.wrap("2", text)
    }
}

/// How a whole row is painted.
pub type RowPaint = fn(Paint, &str) -> String;

/// A table whose columns are as wide as their widest cell.
#[derive(Debug, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<(Vec<String>, Option<RowPaint>)>,
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push((cells, None));
    }

    /// Adds a row painted as a whole (e.g. red for a difference).
    pub fn painted(&mut self, cells: Vec<String>, paint: RowPaint) {
        self.rows.push((cells, Some(paint)));
    }

    /// The table as text, one line per row, with a trailing newline.
    pub fn render(&self, paint: Paint) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for (cells, _) in &self.rows {
            for (i, c) in cells.iter().enumerate() {
                if i < widths.len() {
                    widths[i] = widths[i].max(width(c));
                }
            }
        }
        let line = |cells: &[String]| -> String {
            let mut out = String::new();
            for (i, c) in cells.iter().enumerate() {
                if i + 1 == cells.len() {
                    out.push_str(c);
                } else {
                    out.push_str(c);
                    out.push_str(&" ".repeat(widths[i].saturating_sub(width(c)) + 2));
                }
            }
            out.trim_end().to_string()
        };
        let mut out = paint.bold(&line(&self.headers));
        out.push('\n');
        for (cells, p) in &self.rows {
            let text = line(cells);
            out.push_str(&match p {
                Some(p) => p(paint, &text),
                None => text,
            });
            out.push('\n');
        }
        out
    }
}

fn width(text: &str) -> usize {
    text.chars().count()
}

/// A value for a cell: `NULL` for none, cut to `max` characters.
pub fn cell(value: Option<&str>, max: usize) -> String {
    match value {
        None => "NULL".to_string(),
        Some(v) => cut(&v.replace('\n', " "), max),
    }
}

/// `text` cut to `max` characters with an ellipsis.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// Parses an age such as `30s`, `15m`, `2h`, `3d`, `1w` (a bare number is seconds).
pub fn parse_age(text: &str) -> Result<chrono::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: i64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not an age such as 30s, 15m, 2h, 3d or 1w"))?;
    Ok(match unit.trim() {
        "" | "s" => chrono::Duration::seconds(n),
        "m" | "min" => chrono::Duration::minutes(n),
        "h" => chrono::Duration::hours(n),
        "d" => chrono::Duration::days(n),
        "w" => chrono::Duration::weeks(n),
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}`: use s, m, h, d or w"
            ));
        }
    })
}

/// A byte count in binary units.
pub fn bytes(n: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_cut() {
        let mut t = Table::new(&["id", "entity"]);
        t.row(vec!["1".into(), "persona".into()]);
        t.row(vec!["12345".into(), "contrato".into()]);
        assert_eq!(
            t.render(Paint { on: false }),
            "id     entity\n1      persona\n12345  contrato\n"
        );
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cell(None, 4), "NULL");
    }

    #[test]
    fn ages_and_bytes() {
        assert_eq!(parse_age("90"), Ok(chrono::Duration::seconds(90)));
        assert_eq!(parse_age("2h"), Ok(chrono::Duration::hours(2)));
        assert_eq!(parse_age("3d"), Ok(chrono::Duration::days(3)));
        assert!(parse_age("soon").is_err());
        assert!(parse_age("3y").is_err());
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 * 1024 * 1024), "3.0 MiB");
    }
}
