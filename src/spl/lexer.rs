//! Splits an expanded search into tokens.
//!
//! Owns quoting and backslash rules: inside and outside double quotes `\\` is one backslash
//! and `\"` a quote; any other backslash is kept. A `*` always stays a wildcard. The lexer
//! does not know commands or precedence; it must not interpret words.

use super::ast::Span;
use super::error::{CompileError, CompileErrorKind};

/// The kinds of token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// `|`
    Pipe,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`, `<=`, `>`, `>=` (recognised so that they can be refused by name)
    Relational(&'static str),
    /// A word or a quoted string, with escapes resolved.
    Word {
        /// The text.
        text: String,
        /// Whether it was written in double quotes (then it is never a keyword).
        quoted: bool,
    },
}

/// A token and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub tok: Tok,
    /// Where it is.
    pub span: Span,
}

impl Token {
    /// The word's text when this is an unquoted word.
    pub fn bare_word(&self) -> Option<&str> {
        match &self.tok {
            Tok::Word { text, quoted: false } => Some(text),
            _ => None,
        }
    }

    /// Whether this is the unquoted keyword `kw`, compared without case.
    pub fn is_keyword_ci(&self, kw: &str) -> bool {
        self.bare_word().is_some_and(|w| w.eq_ignore_ascii_case(kw))
    }

    /// Whether this is the unquoted keyword `kw`, compared with case.
    pub fn is_keyword(&self, kw: &str) -> bool {
        self.bare_word() == Some(kw)
    }

    /// The token as text, for error messages.
    pub fn describe(&self) -> String {
        match &self.tok {
            Tok::Pipe => "|".into(),
            Tok::LParen => "(".into(),
            Tok::RParen => ")".into(),
            Tok::Comma => ",".into(),
            Tok::Eq => "=".into(),
            Tok::Ne => "!=".into(),
            Tok::Relational(op) => (*op).into(),
            Tok::Word { text, quoted: true } => format!("\"{text}\""),
            Tok::Word { text, quoted: false } => text.clone(),
        }
    }
}

/// Tokenizes `text`.
pub fn tokenize(text: &str) -> Result<Vec<Token>, CompileError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let tok = match b {
            b'|' => single(&mut i, Tok::Pipe),
            b'(' => single(&mut i, Tok::LParen),
            b')' => single(&mut i, Tok::RParen),
            b',' => single(&mut i, Tok::Comma),
            b'=' => single(&mut i, Tok::Eq),
            b'!' if bytes.get(i + 1) == Some(&b'=') => {
                i += 2;
                Tok::Ne
            }
            b'<' | b'>' => relational(bytes, &mut i),
            b'"' => quoted(text, &mut i)?,
            b'`' => {
                let found = "`".to_string();
                let kind = CompileErrorKind::UnsupportedSyntax { found };
                return Err(CompileError::at(kind, Span::new(i, i + 1), text));
            }
            _ => bare(text, &mut i),
        };
        out.push(Token { tok, span: Span::new(start, i) });
    }
    Ok(out)
}

fn single(i: &mut usize, tok: Tok) -> Tok {
    *i += 1;
    tok
}

fn relational(bytes: &[u8], i: &mut usize) -> Tok {
    let eq = bytes.get(*i + 1) == Some(&b'=');
    let op = match (bytes[*i], eq) {
        (b'<', true) => "<=",
        (b'<', false) => "<",
        (_, true) => ">=",
        (_, false) => ">",
    };
    *i += if eq { 2 } else { 1 };
    Tok::Relational(op)
}

/// Reads a double-quoted string starting at `*i` (the opening quote).
fn quoted(text: &str, i: &mut usize) -> Result<Tok, CompileError> {
    let start = *i;
    let bytes = text.as_bytes();
    let mut value = String::new();
    let mut j = start + 1;
    let mut run = j;
    while j < bytes.len() {
        match bytes[j] {
            b'"' => {
                value.push_str(&text[run..j]);
                *i = j + 1;
                return Ok(Tok::Word { text: value, quoted: true });
            }
            b'\\' if matches!(bytes.get(j + 1), Some(b'\\') | Some(b'"')) => {
                value.push_str(&text[run..j]);
                value.push(bytes[j + 1] as char);
                j += 2;
                run = j;
            }
            _ => j += 1,
        }
    }
    let kind = CompileErrorKind::Syntax { expected: "a closing `\"`", found: String::new() };
    Err(CompileError::at(kind, Span::new(start, text.len()), text))
}

/// Reads an unquoted word: anything up to whitespace or a punctuation token.
fn bare(text: &str, i: &mut usize) -> Tok {
    let bytes = text.as_bytes();
    let mut value = String::new();
    let mut j = *i;
    let mut run = j;
    while j < bytes.len() {
        let b = bytes[j];
        let ends = b.is_ascii_whitespace()
            || matches!(b, b'|' | b'(' | b')' | b',' | b'=' | b'<' | b'>' | b'"' | b'`')
            || (b == b'!' && bytes.get(j + 1) == Some(&b'='));
        if ends {
            break;
        }
        if b == b'\\' && matches!(bytes.get(j + 1), Some(b'\\') | Some(b'"')) {
            value.push_str(&text[run..j]);
            value.push(bytes[j + 1] as char);
            j += 2;
            run = j;
            continue;
        }
        j += 1;
    }
    value.push_str(&text[run..j]);
    *i = j;
    Tok::Word { text: value, quoted: false }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        tokenize(text).unwrap().iter().map(Token::describe).collect()
    }

    #[test]
    fn splits_comparisons_and_lists() {
        assert_eq!(
            words("a=b c!=d x IN (*p*, \"q r\")"),
            ["a", "=", "b", "c", "!=", "d", "x", "IN", "(", "*p*", ",", "\"q r\"", ")"]
        );
    }

    #[test]
    fn double_backslash_is_one_backslash() {
        let toks = tokenize(r#"p="C:\\Windows\\*" q=C:\\x r="say \"hi\"""#).unwrap();
        let texts: Vec<_> = toks
            .iter()
            .filter_map(|t| match &t.tok {
                Tok::Word { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(texts, ["p", r"C:\Windows\*", "q", r"C:\x", "r", r#"say "hi""#]);
    }

    #[test]
    fn single_backslash_is_kept() {
        let toks = tokenize(r"a=\W").unwrap();
        assert_eq!(toks[2].tok, Tok::Word { text: r"\W".into(), quoted: false });
    }

    #[test]
    fn unclosed_quote_is_an_error() {
        assert!(tokenize("a=\"abc").is_err());
    }
}
