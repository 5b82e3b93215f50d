//! Tokenizer for mapping expressions.

use rust_decimal::Decimal;

use super::SyntaxError;

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) kind: Tok,
    pub(crate) pos: usize,
}

/// Token kinds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    Str(String),
    Int(i64),
    Num(Decimal),
    Dollar(String),
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    Eq,
    Dot,
    Eof,
}

impl Tok {
    /// How the token reads in an error message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Str(s) => format!("string '{s}'"),
            Tok::Int(i) => format!("number {i}"),
            Tok::Num(d) => format!("number {d}"),
            Tok::Dollar(s) => format!("`${s}`"),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::LBrace => "`{`".into(),
            Tok::RBrace => "`}`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Eq => "`=`".into(),
            Tok::Dot => "`.`".into(),
            Tok::Eof => "end of expression".into(),
        }
    }
}

/// Splits `src` into tokens, ending with [`Tok::Eof`].
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, SyntaxError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let single = match c {
            b'(' => Some(Tok::LParen),
            b')' => Some(Tok::RParen),
            b'{' => Some(Tok::LBrace),
            b'}' => Some(Tok::RBrace),
            b',' => Some(Tok::Comma),
            b'=' => Some(Tok::Eq),
            b'.' => Some(Tok::Dot),
            _ => None,
        };
        if let Some(kind) = single {
            out.push(Token { kind, pos: start });
            i += 1;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'\'' {
            let mut text = String::new();
            i += 1;
            loop {
                match src[i..].find('\'') {
                    None => {
                        return Err(SyntaxError {
                            pos: start,
                            message: "unterminated string literal".into(),
                        });
                    }
                    Some(off) => {
                        text.push_str(&src[i..i + off]);
                        i += off + 1;
                        if bytes.get(i) == Some(&b'\'') {
                            text.push('\'');
                            i += 1;
                        } else {
                            break;
                        }
                    }
                }
            }
            out.push(Token {
                kind: Tok::Str(text),
                pos: start,
            });
        } else if c.is_ascii_digit()
            || (c == b'-' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let mut is_decimal = false;
            if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() {
                is_decimal = true;
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
            }
            let text = &src[start..i];
            let bad = |_| SyntaxError {
                pos: start,
                message: format!("number `{text}` out of range"),
            };
            let kind = if is_decimal {
                Tok::Num(Decimal::from_str_exact(text).map_err(bad)?)
            } else {
                match text.parse::<i64>() {
                    Ok(v) => Tok::Int(v),
                    Err(_) => Tok::Num(Decimal::from_str_exact(text).map_err(bad)?),
                }
            };
            out.push(Token { kind, pos: start });
        } else if c == b'$' || c.is_ascii_alphabetic() || c == b'_' {
            i += 1;
            let name_start = if c == b'$' { i } else { start };
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let name = src[name_start..i].to_string();
            if c == b'$' {
                if name.is_empty() {
                    return Err(SyntaxError {
                        pos: start,
                        message: "expected a variable name after `$`".into(),
                    });
                }
                out.push(Token {
                    kind: Tok::Dollar(name),
                    pos: start,
                });
            } else {
                out.push(Token {
                    kind: Tok::Ident(name),
                    pos: start,
                });
            }
        } else {
            let ch = src[i..].chars().next().unwrap_or('?');
            let hint = match ch {
                '"' => " (strings use single quotes: 'text')",
                '|' | '+' | '*' | '/' | '<' | '>' => {
                    " (operators are not supported; use functions such as concat())"
                }
                _ => "",
            };
            return Err(SyntaxError {
                pos: start,
                message: format!("unexpected character `{ch}`{hint}"),
            });
        }
    }
    out.push(Token {
        kind: Tok::Eof,
        pos: src.len(),
    });
    Ok(out)
}
