//! The configuration reference (`docs/CONFIG.md`), generated from the config structs so it
//! cannot drift: keys and their docs come from the struct's rustdoc (via `schemars`), defaults
//! from its `Default` (via `serde`), environment overrides from the naming rule
//! `<PREFIX><KEY in upper case>`.

pub use schemars;
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

/// The settings of a TOML configuration struct `T` (`#[serde(default)]`), in key order, each
/// overridable by `env_prefix` + the key in upper case. A field whose type is itself a struct
/// (a `[table]`, e.g. `[kafka]`) is expanded into `table.key` settings with the environment
/// prefix `<env_prefix><TABLE>_`. Defaults come from the schema (`T::default()`, serialized).
pub fn toml_settings<T>(env_prefix: &str) -> Result<Vec<Setting>, OpsError>
where
    T: JsonSchema + Serialize + Default,
{
    let schema = schemars::schema_for!(T);
    let root = schema.as_value();
    let defaults =
        serde_json::to_value(T::default()).map_err(|e| OpsError::Reference(e.to_string()))?;
    let mut settings = Vec::new();
    collect(root, root, &defaults, "", env_prefix, &mut settings)?;
    Ok(settings)
}

/// Adds the settings of the object schema `object` (keys prefixed by `key_prefix`).
fn collect(
    root: &serde_json::Value,
    object: &serde_json::Value,
    defaults: &serde_json::Value,
    key_prefix: &str,
    env_prefix: &str,
    out: &mut Vec<Setting>,
) -> Result<(), OpsError> {
    let properties = object
        .get("properties")
        .and_then(|p| p.as_object())
        .ok_or_else(|| {
            OpsError::Reference(format!("{key_prefix}: the schema has no properties"))
        })?;
    for (key, property) in properties {
        let doc = property
            .get("description")
            .and_then(|d| d.as_str())
            .ok_or_else(|| {
                OpsError::Reference(format!("key {key_prefix}{key} has no doc comment"))
            })?;
        let default = property.get("default").or_else(|| defaults.get(key));
        if let Some(table) = table_schema(root, property) {
            out.push(Setting {
                key: format!("[{key_prefix}{key}]"),
                env: String::new(),
                default: String::new(),
                doc: doc.to_string(),
            });
            let nested_defaults = default
                .filter(|d| d.is_object())
                .cloned()
                .unwrap_or_default();
            collect(
                root,
                table,
                &nested_defaults,
                &format!("{key_prefix}{key}."),
                &format!("{env_prefix}{}_", key.to_uppercase()),
                out,
            )?;
            continue;
        }
        out.push(Setting {
            key: format!("{key_prefix}{key}"),
            env: format!("{env_prefix}{}", key.to_uppercase()),
            default: default.map(render_value).unwrap_or_default(),
            doc: doc.to_string(),
        });
    }
    Ok(())
}

/// The struct schema a property refers to (directly, or as `Option<struct>`), if any.
fn table_schema<'a>(
    root: &'a serde_json::Value,
    property: &'a serde_json::Value,
) -> Option<&'a serde_json::Value> {
    let reference = property.get("$ref").or_else(|| {
        property
            .get("anyOf")
            .or_else(|| property.get("oneOf"))?
            .as_array()?
            .iter()
            .find_map(|v| v.get("$ref"))
    })?;
    let name = reference.as_str()?.rsplit('/').next()?;
    let target = root.get("$defs")?.get(name)?;
    target.get("properties").is_some().then_some(target)
}

/// The flags of a clap command that carry a long name, each with its environment variable,
/// default and help text (`--help`, `--version` left out).
pub fn clap_settings(command: &clap::Command) -> Vec<Setting> {
    command
        .get_arguments()
        .filter_map(|arg| {
            let long = arg.get_long()?;
            if long == "help" || long == "version" {
                return None;
            }
            let default = arg
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(",");
            Some(Setting {
                key: format!("--{long}"),
                env: arg
                    .get_env()
                    .map(|e| e.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                default: if default.is_empty() {
                    default
                } else {
                    format!("\"{default}\"")
                },
                doc: arg
                    .get_long_help()
                    .or(arg.get_help())
                    .map(|h| h.to_string())
                    .unwrap_or_default(),
            })
        })
        .collect()
}

fn render_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::Object(o) if o.is_empty() => "{}".into(),
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
        /// An optional table.
        extra: Option<Extra>,
    }

    /// `[extra]`.
    #[derive(Serialize, JsonSchema)]
    #[serde(default)]
    struct Extra {
        /// Turned on.
        on: bool,
    }

    impl Default for Extra {
        fn default() -> Self {
            Extra { on: true }
        }
    }

    impl Default for Example {
        fn default() -> Self {
            Example {
                addr: "127.0.0.1:1".into(),
                every_secs: 15,
                extra: None,
            }
        }
    }

    #[test]
    fn keys_docs_defaults_and_env_names_come_from_the_struct() {
        let settings = toml_settings::<Example>("APP_").unwrap();
        let keys: Vec<&str> = settings.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, ["addr", "every_secs", "[extra]", "extra.on"]);
        assert_eq!(settings[0].env, "APP_ADDR");
        assert_eq!(settings[0].default, "\"127.0.0.1:1\"");
        assert_eq!(settings[1].default, "15");
        assert_eq!(settings[3].env, "APP_EXTRA_ON");
        assert_eq!(
            settings[3].default, "true",
            "nested defaults come from the table's Default"
        );
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
