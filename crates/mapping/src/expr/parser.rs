//! Recursive-descent parser from tokens to [`Expr`].

use super::lexer::{Tok, Token, tokenize};
use super::{Expr, ExprKind, MapKey, SyntaxError};

/// Parser state over one expression source.
pub(crate) struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    /// Tokenizes `src`.
    pub(crate) fn new(src: &str) -> Result<Parser, SyntaxError> {
        Ok(Parser {
            tokens: tokenize(src)?,
            at: 0,
        })
    }

    /// Parses one expression that must span the whole source.
    pub(crate) fn parse_all(mut self) -> Result<Expr, SyntaxError> {
        if self.peek().kind == Tok::Eof {
            return Err(SyntaxError {
                pos: 0,
                message: "empty expression".into(),
            });
        }
        let e = self.expr()?;
        let t = self.peek();
        if t.kind != Tok::Eof {
            return Err(SyntaxError {
                pos: t.pos,
                message: format!(
                    "unexpected {} after a complete expression",
                    t.kind.describe()
                ),
            });
        }
        Ok(e)
    }

    fn peek(&self) -> &Token {
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.at < self.tokens.len() - 1 {
            self.at += 1;
        }
        t
    }

    fn expect(&mut self, want: Tok, what: &str) -> Result<Token, SyntaxError> {
        let t = self.next();
        if t.kind == want {
            Ok(t)
        } else {
            Err(SyntaxError {
                pos: t.pos,
                message: format!("expected {what}, found {}", t.kind.describe()),
            })
        }
    }

    fn expr(&mut self) -> Result<Expr, SyntaxError> {
        let t = self.next();
        let pos = t.pos;
        let kind = match t.kind {
            Tok::Str(s) => ExprKind::Str(s),
            Tok::Int(i) => ExprKind::Int(i),
            Tok::Num(d) => ExprKind::Num(d),
            Tok::Dollar(name) => ExprKind::Placeholder(name),
            Tok::LParen => {
                let inner = self.expr()?;
                self.expect(Tok::RParen, "`)`")?;
                return Ok(inner);
            }
            Tok::LBrace => ExprKind::Map(self.map_entries()?),
            Tok::Ident(name) => match name.to_ascii_lowercase().as_str() {
                "null" => ExprKind::Null,
                "true" => ExprKind::Bool(true),
                "false" => ExprKind::Bool(false),
                _ => match self.peek().kind {
                    Tok::LParen => {
                        self.next();
                        ExprKind::Call {
                            name: name.to_ascii_lowercase(),
                            args: self.args()?,
                        }
                    }
                    Tok::Dot => {
                        self.next();
                        let col = self.next();
                        match col.kind {
                            Tok::Ident(c) => ExprKind::Column {
                                qualifier: Some(name),
                                name: c,
                            },
                            other => {
                                return Err(SyntaxError {
                                    pos: col.pos,
                                    message: format!(
                                        "expected a column name after `{name}.`, found {}",
                                        other.describe()
                                    ),
                                });
                            }
                        }
                    }
                    _ => ExprKind::Column {
                        qualifier: None,
                        name,
                    },
                },
            },
            other => {
                return Err(SyntaxError {
                    pos,
                    message: format!("expected an expression, found {}", other.describe()),
                });
            }
        };
        Ok(Expr { kind, pos })
    }

    fn args(&mut self) -> Result<Vec<Expr>, SyntaxError> {
        let mut args = Vec::new();
        if self.peek().kind == Tok::RParen {
            self.next();
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            let t = self.next();
            match t.kind {
                Tok::Comma => continue,
                Tok::RParen => return Ok(args),
                other => {
                    return Err(SyntaxError {
                        pos: t.pos,
                        message: format!(
                            "expected `,` or `)` in argument list, found {}",
                            other.describe()
                        ),
                    });
                }
            }
        }
    }

    fn map_entries(&mut self) -> Result<Vec<(MapKey, Expr)>, SyntaxError> {
        let mut entries = Vec::new();
        if self.peek().kind == Tok::RBrace {
            self.next();
            return Ok(entries);
        }
        loop {
            let k = self.next();
            let key = match k.kind {
                Tok::Ident(s) => match s.to_ascii_lowercase().as_str() {
                    "true" => MapKey::Bool(true),
                    "false" => MapKey::Bool(false),
                    _ => MapKey::Str(s),
                },
                Tok::Str(s) => MapKey::Str(s),
                Tok::Int(i) => MapKey::Num(i.into()),
                Tok::Num(d) => MapKey::Num(d),
                other => {
                    return Err(SyntaxError {
                        pos: k.pos,
                        message: format!("expected a map key, found {}", other.describe()),
                    });
                }
            };
            self.expect(Tok::Eq, "`=` after the map key")?;
            entries.push((key, self.expr()?));
            let t = self.next();
            match t.kind {
                Tok::Comma if self.peek().kind == Tok::RBrace => {
                    self.next();
                    return Ok(entries);
                }
                Tok::Comma => continue,
                Tok::RBrace => return Ok(entries),
                other => {
                    return Err(SyntaxError {
                        pos: t.pos,
                        message: format!("expected `,` or `}}` in map, found {}", other.describe()),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;

    #[test]
    fn parses_calls_maps_and_columns() {
        let e = parse("map(prstipo, {F = 'fisica', 'J' = 'moral', 3 = 'x'}, 'fisica')").unwrap();
        assert_eq!(
            e.to_string(),
            "map(prstipo, {'F' = 'fisica', 'J' = 'moral', 3 = 'x'}, 'fisica')"
        );
        let e = parse(" geo.geoloclat ").unwrap();
        assert_eq!(e.to_string(), "geo.geoloclat");
        assert_eq!(parse("'O''Brien'").unwrap().to_string(), "'O''Brien'");
        assert_eq!(
            parse("to_numeric(x, -2.50)").unwrap().to_string(),
            "to_numeric(x, -2.50)"
        );
    }

    #[test]
    fn reports_positions() {
        let err = parse("trim(prsnif").unwrap_err();
        assert_eq!(err.pos, 11);
        let err = parse("concat(a,, b)").unwrap_err();
        assert_eq!(err.pos, 9);
        let err = parse("a b").unwrap_err();
        assert_eq!(err.pos, 2);
        assert!(
            parse("\"x\"")
                .unwrap_err()
                .message
                .contains("single quotes")
        );
        assert!(parse("'open").is_err());
    }
}
