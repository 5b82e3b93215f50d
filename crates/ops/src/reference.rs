//! The configuration reference (`docs/CONFIG.md`), generated from the config structs so it
//! cannot drift: keys and their docs come from the struct's rustdoc (via `schemars`), defaults
//! from its `Default` (via `serde`), environment overrides from the naming rule
//! `<PREFIX><KEY in upper case>`.

use schemars::JsonSchema;
use serde::Serialize;

use crate::OpsError;

/// One documented setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// Key in the file, or the flag (`--legacy`).
    pub key: String,
    /// Environment variable that sets it ("" when none).
    pub env: String,
    /// Default value, rendered ("" when none).
    pub default: String,
    /// What it does (first paragraph of the rustdoc or the `--help` text).
    pub doc: String,
}

/// A titled group of settings.
#[derive(Debug, Clone)]
pub struct Section {
    /// Heading.
    pub title: String,
    /// Paragraph under the heading.
    pub intro: String,
    /// The settings, in the order to show.
    pub settings: Vec<Setting>,
}

/// The settings of a TOML configuration struct `T` (flat, `#[serde(default)]`), in key
/// order, each overridable by `env_prefix` + the key in upper case.
pub fn toml_settings<T>(env_prefix: &str) -> Result<Vec<Setting>, OpsError>
where
    T: JsonSchema + Serialize + Default,
{
    let schema = schemars::schema_for!(T);
    let properties = schema
        .as_value()
        .get("properties")
        .and_then(|p| p.as_object())
        .ok_or_else(|| OpsError::Reference("the schema has no properties".into()))?
        .clone();
    let defaults =
        serde_json::to_value(T::default()).map_err(|e| OpsError::Reference(e.to_string()))?;
    let mut settings = Vec::new();
    for (key, property) in properties {
        let doc = property
            .get("description")
            .and_then(|d| d.as_str())
            .ok_or_else(|| OpsError::Reference(format!("key {key} has no doc comment")))?;
        settings.push(Setting {
            env: format!("{env_prefix}{}", key.to_uppercase()),
            default: defaults.get(&key).map(render_value).unwrap_or_default(),
            doc: doc.to_string(),
            key,
        });
    }
    Ok(settings)
}

fn render_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}

/// Renders the reference as Markdown: a header saying how it is generated, then one table
/// per section.
pub fn render(title: &str, preamble: &str, sections: &[Section]) -> String {
    let mut out = format!("# {title}\n\n{preamble}\n");
    for section in sections {
        out.push_str(&format!("\n## {}\n\n{}\n\n", section.title, section.intro));
        out.push_str("| Key | Default | Environment | Description |\n|---|---|---|---|\n");
        for s in &section.settings {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                s.key,
                code_or_dash(&s.default),
                code_or_dash(&s.env),
                cell(&s.doc)
            ));
        }
    }
    out
}

fn code_or_dash(s: &str) -> String {
    if s.is_empty() {
        "—".into()
    } else {
        format!("`{}`", s.replace('|', "\\|"))
    }
}

/// A table cell: one line, pipes escaped.
fn cell(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small config like supra-sync.toml.
    #[derive(Serialize, JsonSchema)]
    #[serde(default)]
    struct Example {
        /// Where to listen
        /// (host:port).
        addr: String,
        /// How often, in seconds.
        every_secs: u64,
    }

    impl Default for Example {
        fn default() -> Self {
            Example {
                addr: "127.0.0.1:1".into(),
                every_secs: 15,
            }
        }
    }

    #[test]
    fn keys_docs_defaults_and_env_names_come_from_the_struct() {
        let settings = toml_settings::<Example>("APP_").unwrap();
        assert_eq!(settings.len(), 2);
        assert_eq!(settings[0].key, "addr");
        assert_eq!(settings[0].env, "APP_ADDR");
        assert_eq!(settings[0].default, "\"127.0.0.1:1\"");
        assert_eq!(settings[1].default, "15");
        let text = render(
            "Reference",
            "Generated.",
            &[Section {
                title: "File".into(),
                intro: "Keys.".into(),
                settings,
            }],
        );
        assert!(
            text.contains(
                "| `addr` | `\"127.0.0.1:1\"` | `APP_ADDR` | Where to listen (host:port). |"
            ),
            "{text}"
        );
    }
}
