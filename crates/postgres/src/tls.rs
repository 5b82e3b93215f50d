//! TLS to PostgreSQL with libpq's `sslmode` semantics, on rustls (ring provider).
//!
//! ```text
//!  conninfo ──split_tls──► (conninfo tokio-postgres understands, TlsSettings)
//!                                                  │ sslmode, sslrootcert
//!  TlsSettings::connector ─► rustls ClientConfig ─► tokio_postgres_rustls::MakeRustlsConnect
//!     disable      no TLS
//!     prefer       TLS when the server offers it, certificate not verified (libpq default)
//!     require      TLS, certificate not verified (libpq: "encrypt, do not authenticate")
//!     verify-ca    TLS, chain verified against sslrootcert (or the system roots)
//!     verify-full  verify-ca + the certificate names the host connected to
//! ```
//! tokio-postgres only knows `disable|prefer|require` and no `sslrootcert`, so those keys are
//! taken out of the connection string first.
//!
//! The two connections not made by tokio-postgres get the same settings in their own form:
//!
//! ```text
//!  TlsSettings::replication_tls ─► pgwire_replication::TlsConfig   (logical replication stream)
//!  TlsSettings::sqlx_url_params ─► ?sslmode=…&sslrootcert=…        (sqlx migrator URL)
//! ```
//!
//! Their TLS code is the libraries' own (rustls with ring in both), with these differences from
//! the connector above:
//!
//! * `prefer` (both): TLS when the server answers the SSLRequest with `S`, plain when it
//!   refuses; a failed handshake is an error, not a fallback to plain.
//! * `verify-ca` (both): pgwire-replication 0.5 and sqlx 0.8 ignore a host name mismatch only
//!   when rustls reports it as `NotValidForName`; rustls 0.23.46 reports
//!   `NotValidForNameContext`, so `verify-ca` also requires the certificate to name the host
//!   there (stricter, never weaker). Use `verify-full`.
//! * System roots (replication stream, no `sslrootcert`): pgwire-replication takes one PEM
//!   file, so the system bundle file is used (`SSL_CERT_FILE`, else the file openssl-probe
//!   finds, e.g. `/etc/ssl/certs/ca-certificates.crt`); a directory-only store is not read.
//! * `sslrootcert` (migrator): sqlx trusts the file *in addition to* the system roots.
//! * Unix-domain sockets (stream): no TLS whatever the mode (as libpq).

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::PgError;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// No TLS.
    Disable,
    /// TLS if the server offers it, not verified.
    #[default]
    Prefer,
    /// TLS, not verified.
    Require,
    /// TLS, certificate chain verified.
    VerifyCa,
    /// TLS, chain and host name verified.
    VerifyFull,
}

/// The TLS part of a connection string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// `sslmode`.
    pub mode: TlsMode,
    /// `sslrootcert`: PEM file of the trusted CA(s); the system roots when absent.
    pub root_cert: Option<PathBuf>,
}

impl TlsMode {
    /// libpq's name of the mode (`disable` … `verify-full`).
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Disable => "disable",
            TlsMode::Prefer => "prefer",
            TlsMode::Require => "require",
            TlsMode::VerifyCa => "verify-ca",
            TlsMode::VerifyFull => "verify-full",
        }
    }
}

fn misconfigured(problem: String, fix: &str) -> PgError {
    PgError::Misconfigured {
        problem,
        fix: fix.into(),
    }
}

/// Splits `sslmode` and `sslrootcert` off a libpq key/value string or a `postgres://` URL.
/// Returns the connection string without them and the settings; `sslmode` comes back for the
/// modes tokio-postgres knows (as `require` for the verifying ones).
pub fn split_tls(label: &str, conninfo: &str) -> Result<(String, TlsSettings), PgError> {
    let mut settings = TlsSettings::default();
    let mut take = |key: &str, value: &str| -> Result<bool, PgError> {
        match key {
            "sslmode" => {
                settings.mode = match value {
                    "disable" => TlsMode::Disable,
                    "allow" | "prefer" => TlsMode::Prefer,
                    "require" => TlsMode::Require,
                    "verify-ca" => TlsMode::VerifyCa,
                    "verify-full" => TlsMode::VerifyFull,
                    other => {
                        return Err(misconfigured(
                            format!("the {label} connection string has sslmode={other}"),
                            "use disable, prefer, require, verify-ca or verify-full",
                        ));
                    }
                };
                Ok(true)
            }
            "sslrootcert" => {
                settings.root_cert = Some(PathBuf::from(value));
                Ok(true)
            }
            _ => Ok(false),
        }
    };
    let trimmed = conninfo.trim();
    let rest = if let Some((base, query)) = trimmed
        .split_once('?')
        .filter(|_| trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://"))
    {
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if !take(k, &percent_decode(v))? {
                kept.push(pair);
            }
        }
        if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        }
    } else if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        trimmed.to_string()
    } else {
        let mut kept = Vec::new();
        for (k, v, raw) in key_values(trimmed) {
            if !take(&k, &v)? {
                kept.push(raw);
            }
        }
        kept.join(" ")
    };
    let native = match settings.mode {
        TlsMode::Disable => "disable",
        TlsMode::Prefer => "prefer",
        _ => "require",
    };
    let sep = if !(rest.starts_with("postgres://") || rest.starts_with("postgresql://")) {
        " "
    } else if rest.contains('?') {
        "&"
    } else {
        "?"
    };
    Ok((format!("{rest}{sep}sslmode={native}"), settings))
}

/// `key=value` pairs of a libpq string: (key, unquoted value, original text).
fn key_values(s: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut key = String::new();
        while let Some(&(_, c)) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars
            .peek()
            .is_some_and(|(_, c)| c.is_whitespace() || *c == '=')
        {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek().is_some_and(|(_, c)| *c == '\'') {
            chars.next();
            while let Some((_, c)) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next().map(|(_, c)| c)),
                    '\'' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&(_, c)) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        let end = chars.peek().map_or(s.len(), |(i, _)| *i);
        out.push((key, value, s[start..end].trim_end().to_string()));
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(Ok(b)) = s.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16))
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub(crate) fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl TlsSettings {
    /// The rustls connector for these settings (`None` for `disable`).
    pub fn connector(&self) -> Result<Option<tokio_postgres_rustls::MakeRustlsConnect>, PgError> {
        if self.mode == TlsMode::Disable {
            return Ok(None);
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| misconfigured(format!("TLS setup failed: {e}"), "report this as a bug"))?;
        let verifier: Arc<dyn ServerCertVerifier> = match self.mode {
            TlsMode::VerifyCa | TlsMode::VerifyFull => {
                let roots = Arc::new(self.roots()?);
                let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                    .build()
                    .map_err(|e| {
                        misconfigured(format!("TLS roots unusable: {e}"), "check sslrootcert")
                    })?;
                Arc::new(Verify {
                    webpki: Some(webpki),
                    check_name: self.mode == TlsMode::VerifyFull,
                    provider,
                })
            }
            _ => Arc::new(Verify {
                webpki: None,
                check_name: false,
                provider,
            }),
        };
        let config = builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(Some(tokio_postgres_rustls::MakeRustlsConnect::new(config)))
    }

    /// The TLS configuration of the logical replication stream (pgwire-replication) to `host`
    /// (the connection's host: a name, an IP address or a Unix socket directory).
    ///
    /// * `disable` → no TLS; a Unix-socket `host` → no TLS whatever the mode (as libpq).
    /// * `prefer` → pgwire-replication's own `Prefer`: an SSLRequest first; TLS without
    ///   certificate checks when the server accepts it, the plain connection when the server
    ///   refuses it (`N`); a failed handshake is an error.
    /// * `require` → TLS, certificate not verified.
    /// * `verify-ca` / `verify-full` → TLS, chain verified against `sslrootcert`, or without it
    ///   against the system CA bundle file (`SSL_CERT_FILE`, else the file openssl-probe finds);
    ///   `verify-full` also checks the host name, an IP address against the certificate's IP
    ///   addresses (as libpq). `verify-ca` currently also requires the name to match (see the
    ///   module documentation).
    ///
    /// The root file is read here first, so a missing or unusable `sslrootcert` is the same
    /// [`PgError::Misconfigured`] as for the other connections.
    pub fn replication_tls(&self, host: &str) -> Result<pgwire_replication::TlsConfig, PgError> {
        use pgwire_replication::{SslMode, TlsConfig};
        if host.starts_with('/') {
            return Ok(TlsConfig::disabled());
        }
        let verified_roots = || -> Result<Option<PathBuf>, PgError> {
            self.roots()?;
            Ok(Some(match &self.root_cert {
                Some(path) => path.clone(),
                None => openssl_probe::probe().cert_file.ok_or_else(|| {
                    misconfigured(
                        "no system CA bundle file found for the replication stream \
                         (sslmode=verify-ca/verify-full without sslrootcert)"
                            .into(),
                        "set sslrootcert=/path/to/ca.pem in the connection string, or \
                         SSL_CERT_FILE to the CA bundle file",
                    )
                })?,
            }))
        };
        let config = match self.mode {
            TlsMode::Disable => TlsConfig::disabled(),
            TlsMode::Prefer => TlsConfig {
                mode: SslMode::Prefer,
                ..TlsConfig::disabled()
            },
            TlsMode::Require => TlsConfig::require(),
            TlsMode::VerifyCa => TlsConfig::verify_ca(verified_roots()?),
            TlsMode::VerifyFull => {
                let config = TlsConfig::verify_full(verified_roots()?);
                // pgwire-replication refuses verify-full to an IP address unless the name to
                // verify is given explicitly; giving the address itself makes rustls check it
                // against the certificate's IP addresses, as libpq does.
                if host.parse::<std::net::IpAddr>().is_ok() {
                    config.with_sni_hostname(host)
                } else {
                    config
                }
            }
        };
        Ok(config)
    }

    /// `sslmode=…` and, when set, `sslrootcert=…` (percent-encoded) as URL query parameters
    /// for sqlx, which understands all five modes.
    pub fn sqlx_url_params(&self) -> String {
        let mut params = format!("sslmode={}", self.mode.as_str());
        if let Some(path) = &self.root_cert {
            params.push_str("&sslrootcert=");
            params.push_str(&percent_encode(&path.to_string_lossy()));
        }
        params
    }

    fn roots(&self) -> Result<RootCertStore, PgError> {
        let mut roots = RootCertStore::empty();
        match &self.root_cert {
            Some(path) => {
                let certs = CertificateDer::pem_file_iter(path)
                    .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| {
                        misconfigured(
                            format!("cannot read sslrootcert {}: {e}", path.display()),
                            "point sslrootcert at the PEM file of the server's CA",
                        )
                    })?;
                roots.add_parsable_certificates(certs);
            }
            None => {
                roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            }
        }
        if roots.is_empty() {
            return Err(misconfigured(
                "no trusted CA certificate found for sslmode=verify-ca/verify-full".into(),
                "set sslrootcert=/path/to/ca.pem in the connection string",
            ));
        }
        Ok(roots)
    }
}

/// Verification by mode: WebPKI chain (with or without the name), or none (`require`).
/// Handshake signatures are always checked.
#[derive(Debug)]
struct Verify {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    check_name: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verify {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(webpki) = &self.webpki else {
            return Ok(ServerCertVerified::assertion());
        };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_keys_are_split_off_both_connection_string_forms() {
        let (rest, tls) = split_tls(
            "legacy",
            "host=db sslmode=verify-full sslrootcert='/etc/ca dir/ca.pem' user=x",
        )
        .unwrap();
        assert_eq!(rest, "host=db user=x sslmode=require");
        assert_eq!(tls.mode, TlsMode::VerifyFull);
        assert_eq!(tls.root_cert, Some(PathBuf::from("/etc/ca dir/ca.pem")));
        let (rest, tls) = split_tls(
            "supra",
            "postgres://u@db/s?sslmode=verify-ca&sslrootcert=%2Fca.pem&application_name=a",
        )
        .unwrap();
        assert_eq!(rest, "postgres://u@db/s?application_name=a&sslmode=require");
        assert_eq!(
            (tls.mode, tls.root_cert),
            (TlsMode::VerifyCa, Some(PathBuf::from("/ca.pem")))
        );
        let (rest, tls) = split_tls("supra", "host=db password='a b'").unwrap();
        assert_eq!(rest, "host=db password='a b' sslmode=prefer");
        assert_eq!(tls.mode, TlsMode::Prefer);
        assert!(split_tls("supra", "host=db sslmode=sometimes").is_err());
    }
}
