//! The mapping expression language: a small, side-effect-free language of column references,
//! literals and function calls.
//!
//! ```text
//!  "trim_nullif(prsnif)" ──lexer──► tokens ──parser──► Expr (AST, byte positions)
//!                                                        │ compile (crate::compile)
//!                                                        ▼
//!                                     Node tree bound to column slots ──eval──► Value
//! ```
//!
//! Grammar (whitespace and newlines are insignificant):
//!
//! ```text
//! expr    := literal | column | call | map | '$' ident | '(' expr ')'
//! literal := 'text' (quote doubled to escape) | -?digits[.digits] | true | false | null
//! column  := ident | ident '.' ident             -- `alias.column` for joined tables
//! call    := ident '(' [expr (',' expr)*] ')'
//! map     := '{' [key '=' expr (',' key '=' expr)*] '}'   -- only as an argument of map()
//! key     := ident | 'text' | number | true | false | null
//! ```
//!
//! Expressions are never turned into SQL: they are evaluated in Rust by [`crate::compile`].

pub(crate) mod eval;
pub(crate) mod lexer;
pub(crate) mod parser;

use rust_decimal::Decimal;

/// A parsed expression with the byte offset where it starts in its source string.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What the expression is.
    pub kind: ExprKind,
    /// Byte offset of the expression in its source string.
    pub pos: usize,
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// An integer literal.
    Int(i64),
    /// A decimal literal (exact).
    Num(Decimal),
    /// A string literal.
    Str(String),
    /// A column of the row being mapped, optionally qualified by a join alias.
    Column {
        /// Join alias (`geo` in `geo.geoloclat`), `None` for the entity's own table.
        qualifier: Option<String>,
        /// Column name.
        name: String,
    },
    /// `$name`: a template variable, replaced per source table before compilation.
    Placeholder(String),
    /// A function call.
    Call {
        /// Function name (lower case).
        name: String,
        /// Arguments.
        args: Vec<Expr>,
    },
    /// A value map `{ F = 'fisica', J = 'moral' }`.
    Map(Vec<(MapKey, Expr)>),
}

/// A key of a value map.
#[derive(Debug, Clone, PartialEq)]
pub enum MapKey {
    /// Text key (bare identifiers are text too).
    Str(String),
    /// Numeric key.
    Num(Decimal),
    /// Boolean key.
    Bool(bool),
}

/// A syntax error at a byte position of the expression source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at column {}", .pos + 1)]
pub struct SyntaxError {
    /// Byte offset of the problem.
    pub pos: usize,
    /// What was wrong.
    pub message: String,
}

/// Parses an expression.
pub fn parse(src: &str) -> Result<Expr, SyntaxError> {
    parser::Parser::new(src)?.parse_all()
}

impl Expr {
    /// Visits this expression and all sub-expressions, parents first.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        match &self.kind {
            ExprKind::Call { args, .. } => args.iter().for_each(|a| a.walk(f)),
            ExprKind::Map(entries) => entries.iter().for_each(|(_, e)| e.walk(f)),
            _ => {}
        }
    }

    /// Replaces `$name` placeholders using `lookup`; returns the names that had no value.
    pub fn substitute(&mut self, lookup: &dyn Fn(&str) -> Option<Expr>) -> Vec<(String, usize)> {
        let mut missing = Vec::new();
        self.substitute_into(lookup, &mut missing);
        missing
    }

    /// Sets the position of this expression and all below it (used when a template variable
    /// is substituted, so errors inside it point at the variable's use).
    fn set_pos(&mut self, pos: usize) {
        self.pos = pos;
        match &mut self.kind {
            ExprKind::Call { args, .. } => args.iter_mut().for_each(|a| a.set_pos(pos)),
            ExprKind::Map(entries) => entries.iter_mut().for_each(|(_, e)| e.set_pos(pos)),
            _ => {}
        }
    }

    fn substitute_into(
        &mut self,
        lookup: &dyn Fn(&str) -> Option<Expr>,
        missing: &mut Vec<(String, usize)>,
    ) {
        match &mut self.kind {
            ExprKind::Placeholder(name) => match lookup(name) {
                Some(mut e) => {
                    e.set_pos(self.pos);
                    *self = e;
                }
                None => missing.push((name.clone(), self.pos)),
            },
            ExprKind::Call { args, .. } => args
                .iter_mut()
                .for_each(|a| a.substitute_into(lookup, missing)),
            ExprKind::Map(entries) => entries
                .iter_mut()
                .for_each(|(_, e)| e.substitute_into(lookup, missing)),
            _ => {}
        }
    }
}

impl std::fmt::Display for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            ExprKind::Null => f.write_str("null"),
            ExprKind::Bool(b) => write!(f, "{b}"),
            ExprKind::Int(i) => write!(f, "{i}"),
            ExprKind::Num(d) => write!(f, "{d}"),
            ExprKind::Str(s) => write!(f, "'{}'", s.replace('\'', "''")),
            ExprKind::Column {
                qualifier: Some(q),
                name,
            } => write!(f, "{q}.{name}"),
            ExprKind::Column {
                qualifier: None,
                name,
            } => f.write_str(name),
            ExprKind::Placeholder(p) => write!(f, "${p}"),
            ExprKind::Call { name, args } => {
                write!(f, "{name}(")?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
            ExprKind::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    match k {
                        MapKey::Str(s) => write!(f, "'{}'", s.replace('\'', "''"))?,
                        MapKey::Num(d) => write!(f, "{d}")?,
                        MapKey::Bool(b) => write!(f, "{b}")?,
                    }
                    write!(f, " = {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}
