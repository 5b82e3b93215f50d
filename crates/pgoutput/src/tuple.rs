//! TupleData: the column values of one row image.
//!
//! ```text
//! Int16 ncols, then per column:  'n'                 NULL
//!                                'u'                 unchanged TOASTed value (not sent)
//!                                't' Int32 len bytes value in text format
//!                                'b' Int32 len bytes value in binary format (`binary` option)
//! ```

use std::str::Utf8Error;

use bytes::Bytes;

use crate::error::DecodeError;
use crate::reader::Reader;

/// One column of a [`TupleData`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ColumnValue {
    /// SQL NULL (`'n'`).
    Null,
    /// An unchanged TOASTed value that the server did not send (`'u'`). The column keeps the
    /// value it had before this change; it is *not* NULL and must not be written as a value.
    Unchanged,
    /// The value in PostgreSQL's text output format (`'t'`), in the client encoding (UTF-8 for
    /// supra-sync). A slice of the message buffer.
    Text(Bytes),
    /// The value in the type's binary send format (`'b'`, when the `binary` option is on).
    /// A slice of the message buffer.
    Binary(Bytes),
}

impl ColumnValue {
    /// Whether this is SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, ColumnValue::Null)
    }

    /// Whether this is an unchanged TOASTed value that was not sent.
    pub fn is_unchanged(&self) -> bool {
        matches!(self, ColumnValue::Unchanged)
    }

    /// The raw bytes of a text or binary value; `None` for NULL and unchanged values.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            ColumnValue::Text(b) | ColumnValue::Binary(b) => Some(b),
            ColumnValue::Null | ColumnValue::Unchanged => None,
        }
    }

    /// A text-format value as `&str`; `None` for anything but [`ColumnValue::Text`], and an
    /// error when its bytes are not UTF-8.
    pub fn as_str(&self) -> Option<Result<&str, Utf8Error>> {
        match self {
            ColumnValue::Text(b) => Some(std::str::from_utf8(b)),
            _ => None,
        }
    }
}

/// The column values of one row image, in the relation's column order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct TupleData(pub Vec<ColumnValue>);

impl TupleData {
    /// The column values.
    pub fn columns(&self) -> &[ColumnValue] {
        &self.0
    }

    /// The value of column `index` (0-based), if the tuple has that many columns.
    pub fn get(&self, index: usize) -> Option<&ColumnValue> {
        self.0.get(index)
    }

    /// How many columns the tuple carries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the tuple carries no columns.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over the column values.
    pub fn iter(&self) -> std::slice::Iter<'_, ColumnValue> {
        self.0.iter()
    }

    /// Whether any column is an unchanged TOASTed value, so the row image is incomplete.
    pub fn has_unchanged(&self) -> bool {
        self.0.iter().any(ColumnValue::is_unchanged)
    }
}

impl<'a> IntoIterator for &'a TupleData {
    type Item = &'a ColumnValue;
    type IntoIter = std::slice::Iter<'a, ColumnValue>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for TupleData {
    type Item = ColumnValue;
    type IntoIter = std::vec::IntoIter<ColumnValue>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl From<Vec<ColumnValue>> for TupleData {
    fn from(columns: Vec<ColumnValue>) -> Self {
        TupleData(columns)
    }
}

/// Reads a TupleData (column count and values).
pub(crate) fn read_tuple(r: &mut Reader<'_>) -> Result<TupleData, DecodeError> {
    let count = r.len16("tuple column count")?;
    // Each column takes at least one byte: never reserve more than the message can hold.
    let mut columns = Vec::with_capacity(count.min(r.remaining()));
    for _ in 0..count {
        let offset = r.offset();
        let value = match r.u8("tuple column kind")? {
            b'n' => ColumnValue::Null,
            b'u' => ColumnValue::Unchanged,
            b't' => {
                let len = r.len32("text value length")?;
                ColumnValue::Text(r.bytes(len, "text value")?)
            }
            b'b' => {
                let len = r.len32("binary value length")?;
                ColumnValue::Binary(r.bytes(len, "binary value")?)
            }
            found => {
                return Err(DecodeError::UnexpectedByte {
                    field: "tuple column kind",
                    offset,
                    found,
                });
            }
        };
        columns.push(value);
    }
    Ok(TupleData(columns))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuple(bytes: &'static [u8]) -> Result<TupleData, DecodeError> {
        let buf = Bytes::from_static(bytes);
        read_tuple(&mut Reader::new(&buf))
    }

    #[test]
    fn reads_every_column_kind() {
        let t = tuple(b"\x00\x05n\x75t\x00\x00\x00\x02hit\x00\x00\x00\x00b\x00\x00\x00\x01\xff")
            .unwrap();
        assert_eq!(
            t.columns(),
            [
                ColumnValue::Null,
                ColumnValue::Unchanged,
                ColumnValue::Text(Bytes::from_static(b"hi")),
                ColumnValue::Text(Bytes::new()),
                ColumnValue::Binary(Bytes::from_static(&[0xff])),
            ]
        );
        assert!(t.has_unchanged());
        assert_eq!(t.get(2).and_then(ColumnValue::as_str), Some(Ok("hi")));
        assert_eq!(t.get(0).and_then(ColumnValue::as_bytes), None);
    }

    #[test]
    fn rejects_bad_tuples() {
        assert!(matches!(
            tuple(b"\x00\x01x"),
            Err(DecodeError::UnexpectedByte {
                found: b'x',
                offset: 2,
                ..
            })
        ));
        assert!(matches!(
            tuple(b"\x80\x00"),
            Err(DecodeError::NegativeLength { .. })
        ));
        assert!(matches!(
            tuple(b"\x00\x01t\xff\xff\xff\xff"),
            Err(DecodeError::NegativeLength { value: -1, .. })
        ));
        assert!(matches!(
            tuple(b"\x00\x01t\x7f\xff\xff\xffabc"),
            Err(DecodeError::UnexpectedEof { .. })
        ));
        assert!(matches!(
            tuple(b"\x7f\xff"),
            Err(DecodeError::UnexpectedEof { .. })
        ));
    }
}
