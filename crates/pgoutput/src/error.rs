//! Why a pgoutput message could not be decoded.
//!
//! Every variant is *definite*: the bytes are not a valid pgoutput message and retrying the decode
//! of the same bytes gives the same error. The caller decides whether that halts the pipeline
//! (a corrupt replication stream) or goes to the failure log with the raw bytes.

use std::fmt;

/// A pgoutput message could not be decoded. Offsets count bytes from the start of the message
/// (the tag byte is offset 0).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The buffer held no bytes at all, so not even a message tag.
    #[error("empty pgoutput message")]
    Empty,

    /// The first byte is not a pgoutput message tag this decoder knows.
    #[error("unknown pgoutput message tag {}", ShowByte(*.0))]
    UnknownTag(u8),

    /// The message ended before a field was complete.
    #[error(
        "truncated pgoutput message: {field} needs {needed} bytes at offset {offset}, \
         only {available} left"
    )]
    UnexpectedEof {
        /// The field being read.
        field: &'static str,
        /// Where the field starts.
        offset: usize,
        /// How many bytes the field needs.
        needed: usize,
        /// How many bytes were left in the message.
        available: usize,
    },

    /// A NUL-terminated string ran to the end of the message without its terminator.
    #[error("pgoutput string {field} at offset {offset} has no NUL terminator")]
    UnterminatedString {
        /// The field being read.
        field: &'static str,
        /// Where the string starts.
        offset: usize,
    },

    /// A string (identifier, origin name or message prefix) is not valid UTF-8.
    #[error("pgoutput string {field} at offset {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// The field being read.
        field: &'static str,
        /// Where the string starts.
        offset: usize,
    },

    /// A length or count field is negative.
    #[error("pgoutput {field} at offset {offset} is negative ({value})")]
    NegativeLength {
        /// The field being read.
        field: &'static str,
        /// Where the field starts.
        offset: usize,
        /// The value read.
        value: i32,
    },

    /// A byte that selects a variant (tuple marker, column kind, replica identity, boolean flag)
    /// has a value the protocol does not define.
    #[error("unexpected pgoutput {field} {} at offset {offset}", ShowByte(*.found))]
    UnexpectedByte {
        /// The field being read.
        field: &'static str,
        /// Where the byte is.
        offset: usize,
        /// The byte found.
        found: u8,
    },

    /// A complete message was followed by extra bytes (a framing error upstream).
    #[error("{count} unexpected trailing bytes after a pgoutput {message} message")]
    TrailingBytes {
        /// The message kind, e.g. `"Insert"`.
        message: &'static str,
        /// How many bytes were left over.
        count: usize,
    },
}

/// Shows a protocol byte as `'K'` when printable ASCII, else as `0x1f`.
struct ShowByte(u8);

impl fmt::Display for ShowByte {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_ascii_graphic() {
            write!(f, "'{}' (0x{:02x})", char::from(self.0), self.0)
        } else {
            write!(f, "0x{:02x}", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_show_bytes_readably() {
        assert_eq!(
            DecodeError::UnknownTag(b'Z').to_string(),
            "unknown pgoutput message tag 'Z' (0x5a)"
        );
        assert_eq!(
            DecodeError::UnknownTag(0).to_string(),
            "unknown pgoutput message tag 0x00"
        );
        let eof = DecodeError::UnexpectedEof {
            field: "relation id",
            offset: 1,
            needed: 4,
            available: 2,
        };
        assert_eq!(
            eof.to_string(),
            "truncated pgoutput message: relation id needs 4 bytes at offset 1, only 2 left"
        );
    }
}
