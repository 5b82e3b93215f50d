//! Durable files: rollback scripts, archives and reports are written to a temporary name,
//! fsynced, then renamed, so a crash never leaves half a file under the final name.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{CleanupError, Result};

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CleanupError + '_ {
    move |source| CleanupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` durably; returns the SHA-256 (hex) of the content.
pub(crate) fn write_durable(path: &Path, bytes: &[u8]) -> Result<String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let tmp: PathBuf = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    {
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path))?;
    if let Some(d) = path.parent().and_then(|dir| std::fs::File::open(dir).ok()) {
        let _ = d.sync_all();
    }
    Ok(sha256_hex(bytes))
}

/// Reads a whole file.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(io(path))
}

/// SHA-256 of bytes, hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes a script made of `sections` (each starting with a unique marker line), keeping the
/// sections an earlier run already wrote: a re-run never loses the rollback DDL of tables it
/// dropped before. Returns the SHA-256 of the result.
pub(crate) fn write_sections(
    path: &Path,
    header: &str,
    sections: &[(String, String)],
) -> Result<String> {
    let mut content = match std::fs::read_to_string(path) {
        Ok(existing) => existing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => header.to_string(),
        Err(source) => {
            return Err(CleanupError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    for (marker, text) in sections {
        if !content.contains(&format!("{marker}\n")) {
            content.push_str(marker);
            content.push('\n');
            content.push_str(text);
            content.push('\n');
        }
    }
    write_durable(path, content.as_bytes())
}
