//! A bounds-checked, big-endian cursor over one message.
//!
//! Every read checks the remaining length first and returns [`DecodeError`] instead of panicking;
//! byte strings come back as [`Bytes`] slices of the input, so no value bytes are copied.

use bytes::Bytes;

use crate::error::DecodeError;
use crate::lsn::Lsn;
use crate::time::PgTimestamp;

/// Reads fields front to back from one pgoutput message.
pub(crate) struct Reader<'a> {
    buf: &'a Bytes,
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the first byte of `buf`.
    pub(crate) fn new(buf: &'a Bytes) -> Self {
        Reader { buf, pos: 0 }
    }

    /// The offset of the next byte to read.
    pub(crate) fn offset(&self) -> usize {
        self.pos
    }

    /// How many bytes are left.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn eof(&self, field: &'static str, needed: usize) -> DecodeError {
        DecodeError::UnexpectedEof {
            field,
            offset: self.pos,
            needed,
            available: self.remaining(),
        }
    }

    /// Reads exactly `N` bytes.
    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let (head, _) = rest
            .split_first_chunk::<N>()
            .ok_or_else(|| self.eof(field, N))?;
        self.pos += N;
        Ok(*head)
    }

    /// Reads an Int8 / Byte1.
    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        let [b] = self.array::<1>(field)?;
        Ok(b)
    }

    /// Reads a byte that must be 0 or 1.
    pub(crate) fn bool(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        let offset = self.pos;
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            found => Err(DecodeError::UnexpectedByte {
                field,
                offset,
                found,
            }),
        }
    }

    /// Reads an Int16.
    pub(crate) fn i16(&mut self, field: &'static str) -> Result<i16, DecodeError> {
        self.array(field).map(i16::from_be_bytes)
    }

    /// Reads an Int32.
    pub(crate) fn i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        self.array(field).map(i32::from_be_bytes)
    }

    /// Reads an Int32 holding an unsigned value (OID, xid).
    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        self.array(field).map(u32::from_be_bytes)
    }

    /// Reads an Int64 LSN.
    pub(crate) fn lsn(&mut self, field: &'static str) -> Result<Lsn, DecodeError> {
        self.array(field).map(|b| Lsn(u64::from_be_bytes(b)))
    }

    /// Reads an Int64 timestamp (microseconds since 2000-01-01 UTC).
    pub(crate) fn timestamp(&mut self, field: &'static str) -> Result<PgTimestamp, DecodeError> {
        self.array(field)
            .map(|b| PgTimestamp(i64::from_be_bytes(b)))
    }

    /// Reads an Int32 length or count that must not be negative.
    pub(crate) fn len32(&mut self, field: &'static str) -> Result<usize, DecodeError> {
        let offset = self.pos;
        let value = self.i32(field)?;
        usize::try_from(value).map_err(|_| DecodeError::NegativeLength {
            field,
            offset,
            value,
        })
    }

    /// Reads an Int16 count that must not be negative.
    pub(crate) fn len16(&mut self, field: &'static str) -> Result<usize, DecodeError> {
        let offset = self.pos;
        let value = self.i16(field)?;
        usize::try_from(value).map_err(|_| DecodeError::NegativeLength {
            field,
            offset,
            value: value.into(),
        })
    }

    /// Takes the next `len` bytes as a zero-copy slice of the input.
    pub(crate) fn bytes(&mut self, len: usize, field: &'static str) -> Result<Bytes, DecodeError> {
        if len > self.remaining() {
            return Err(self.eof(field, len));
        }
        let start = self.pos;
        self.pos += len;
        Ok(self.buf.slice(start..self.pos))
    }

    /// Reads a NUL-terminated UTF-8 string.
    pub(crate) fn cstr(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let offset = self.pos;
        let rest = self.buf.get(offset..).unwrap_or_default();
        let nul = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(DecodeError::UnterminatedString { field, offset })?;
        let text = std::str::from_utf8(&rest[..nul])
            .map_err(|_| DecodeError::InvalidUtf8 { field, offset })?;
        self.pos += nul + 1;
        Ok(text.to_owned())
    }

    /// Checks that the whole message was consumed.
    pub(crate) fn finish(&self, message: &'static str) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(DecodeError::TrailingBytes { message, count }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_fields() {
        let buf = Bytes::from_static(&[0x01, 0xff, 0xfe, 0x00, 0x00, 0x00, 0x2a, b'h', b'i', 0]);
        let mut r = Reader::new(&buf);
        assert!(r.bool("flag").unwrap());
        assert_eq!(r.i16("n").unwrap(), -2);
        assert_eq!(r.u32("oid").unwrap(), 42);
        assert_eq!(r.cstr("name").unwrap(), "hi");
        assert_eq!(r.remaining(), 0);
        r.finish("test").unwrap();
    }

    #[test]
    fn short_reads_are_errors() {
        let buf = Bytes::from_static(&[0, 0, 0]);
        let mut r = Reader::new(&buf);
        assert_eq!(
            r.u32("oid"),
            Err(DecodeError::UnexpectedEof {
                field: "oid",
                offset: 0,
                needed: 4,
                available: 3
            })
        );
        assert!(r.bytes(usize::MAX, "value").is_err());
        assert!(r.bytes(4, "value").is_err());
        assert_eq!(r.bytes(3, "value").unwrap(), Bytes::from_static(&[0, 0, 0]));
        assert!(r.u8("tag").is_err());
    }

    #[test]
    fn rejects_negative_lengths_and_bad_strings() {
        let buf = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff]);
        assert!(matches!(
            Reader::new(&buf).len32("len"),
            Err(DecodeError::NegativeLength { value: -1, .. })
        ));
        let buf = Bytes::from_static(b"abc");
        assert!(matches!(
            Reader::new(&buf).cstr("name"),
            Err(DecodeError::UnterminatedString { .. })
        ));
        let buf = Bytes::from_static(&[0xc3, 0x28, 0]);
        assert!(matches!(
            Reader::new(&buf).cstr("name"),
            Err(DecodeError::InvalidUtf8 { .. })
        ));
        let buf = Bytes::from_static(&[2]);
        assert!(matches!(
            Reader::new(&buf).bool("flag"),
            Err(DecodeError::UnexpectedByte { found: 2, .. })
        ));
    }

    #[test]
    fn slices_share_the_input() {
        let buf = Bytes::from(b"xyz".to_vec());
        let mut r = Reader::new(&buf);
        r.u8("skip").unwrap();
        let s = r.bytes(2, "value").unwrap();
        assert_eq!(s.as_ptr(), buf[1..].as_ptr());
    }
}
