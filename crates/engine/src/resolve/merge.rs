//! What an operator chose: one side's version, or a column-by-column merge.
//!
//! A merge specification is a list of `column=side` items separated by commas or new lines
//! (a file may hold one per line, `#` starts a comment). `column` is a SUPRA column or a
//! legacy column of the entity; `side` is `legacy` or `supra`; `*=side` sets the side of
//! every column not named. Example: `phone=supra, email=legacy, *=legacy`.

use serde::Serialize;
use supra_sync_core::Side;

use super::ResolveError;

/// The version an operator chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// Keep the legacy row; write it to SUPRA.
    LegacyWins,
    /// Keep the SUPRA row; write it to legacy.
    SupraWins,
    /// Column by column.
    Merge(MergeSpec),
}

impl Choice {
    /// The `sync_conflicts.resolution` value.
    pub fn resolution(&self) -> &'static str {
        match self {
            Choice::LegacyWins => "legacy_wins",
            Choice::SupraWins => "supra_wins",
            Choice::Merge(_) => "merged",
        }
    }
}

/// A parsed merge specification.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MergeSpec {
    /// `(column, side)` in the order given.
    pub columns: Vec<(String, Side)>,
    /// Side of the columns not named (`*=side`).
    pub default: Option<Side>,
}

fn side_name(text: &str) -> Option<Side> {
    match text
        .trim()
        .trim_matches(|c| c == '"' || c == '\'')
        .to_ascii_lowercase()
        .as_str()
    {
        "legacy" => Some(Side::Legacy),
        "supra" => Some(Side::Supra),
        _ => None,
    }
}

impl MergeSpec {
    /// Parses `column=side, …` (or the same one item per line).
    pub fn parse(text: &str) -> Result<MergeSpec, ResolveError> {
        let bad = |m: String| {
            ResolveError::BadMerge(format!(
                "malformed merge specification: {m}\nhint: write column=side items separated by commas, e.g. --merge 'phone=supra,email=legacy,*=legacy' (side is legacy or supra)"
            ))
        };
        let mut spec = MergeSpec::default();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            for item in line.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                let Some((column, side)) = item.split_once('=') else {
                    return Err(bad(format!("`{item}` has no `=`")));
                };
                let column = column.trim().trim_matches('"').to_string();
                if column.is_empty() {
                    return Err(bad(format!("`{item}` names no column")));
                }
                let side = side_name(side).ok_or_else(|| {
                    bad(format!(
                        "`{}` in `{item}` is not legacy or supra",
                        side.trim()
                    ))
                })?;
                if column == "*" {
                    if spec.default.is_some_and(|d| d != side) {
                        return Err(bad("`*` is given twice with different sides".into()));
                    }
                    spec.default = Some(side);
                    continue;
                }
                match spec.columns.iter().find(|(c, _)| *c == column) {
                    Some((_, s)) if *s != side => {
                        return Err(bad(format!("column {column} is given both sides")));
                    }
                    Some(_) => {}
                    None => spec.columns.push((column, side)),
                }
            }
        }
        if spec.columns.is_empty() && spec.default.is_none() {
            return Err(bad("it names no column".into()));
        }
        Ok(spec)
    }

    /// The side named for `column`, if any.
    pub fn side_of(&self, column: &str) -> Option<Side> {
        self.columns
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, s)| *s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_files_and_defaults() {
        let spec = MergeSpec::parse("phone=supra, email = legacy,*=\"legacy\"").unwrap();
        assert_eq!(
            spec.columns,
            vec![
                ("phone".into(), Side::Supra),
                ("email".into(), Side::Legacy)
            ]
        );
        assert_eq!(spec.default, Some(Side::Legacy));
        let file = "# chosen with the customer on the phone\nphone = supra\n\nprsemail = legacy # legacy column\n";
        let spec = MergeSpec::parse(file).unwrap();
        assert_eq!(spec.side_of("prsemail"), Some(Side::Legacy));
        assert_eq!(spec.default, None);
    }

    #[test]
    fn malformed_specs_are_refused() {
        for bad in [
            "",
            "phone",
            "phone=both",
            "=supra",
            "phone=supra,phone=legacy",
            "*=legacy,*=supra",
        ] {
            let e = MergeSpec::parse(bad).unwrap_err().to_string();
            assert!(e.starts_with("malformed merge specification"), "{bad}: {e}");
        }
    }
}
