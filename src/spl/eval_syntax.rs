//! Parses the eval language of `where` and `eval` into `ast::EvalExpr`.
//!
//! Owns the eval language's own lexing and precedence, which differ from the search language:
//! bare words are field names, `"..."` are strings, `'...'` are field names, and `AND` binds
//! tighter than `OR` (lowest first: `OR`, `XOR`, `AND`, `NOT`, comparisons, `+ - .`,
//! `* / %`, unary minus). Keywords are matched without case. It must not decide what a
//! function means; `plan` does.

use super::ast::{BinOp, EvalExpr, Span, Spanned};
use super::error::{CompileError, CompileErrorKind};

/// How deeply eval expressions may nest.
const MAX_DEPTH: usize = 40;

/// How many operators and calls one expression may hold: a chain of `AND`s is a tree as deep
/// as it is long, and evaluating it recurses that deep.
const MAX_OPERATORS: usize = 1000;

#[derive(Debug, Clone, PartialEq)]
enum T {
    Ident(String),
    /// A single-quoted field name.
    Quoted(String),
    Str(String),
    Num(f64),
    LParen,
    RParen,
    Comma,
    Op(&'static str),
}

#[derive(Debug, Clone)]
struct Tok {
    t: T,
    span: Span,
}

/// Parses `text[range]` as one eval expression.
pub fn parse_expr(text: &str, start: usize, end: usize) -> Result<EvalExpr, CompileError> {
    let toks = lex(text, start, end)?;
    let mut p = P { toks, pos: 0, text, end, depth: 0, operators: 0 };
    let e = p.or()?;
    p.expect_end()?;
    Ok(e)
}

/// Parses `text[range]` as `name=EXPR [, name=EXPR]...`.
pub fn parse_assignments(
    text: &str,
    start: usize,
    end: usize,
) -> Result<Vec<(Spanned<String>, EvalExpr)>, CompileError> {
    let toks = lex(text, start, end)?;
    let mut p = P { toks, pos: 0, text, end, depth: 0, operators: 0 };
    let mut out = Vec::new();
    loop {
        let name = match p.bump() {
            Some(Tok { t: T::Ident(n) | T::Quoted(n), span }) => Spanned { node: n, span },
            _ => return Err(p.error_before("a field name to assign")),
        };
        if !p.eat_op("=") {
            return Err(p.error("`=` after the field name"));
        }
        out.push((name, p.or()?));
        if !p.eat(&T::Comma) {
            break;
        }
    }
    p.expect_end()?;
    Ok(out)
}

fn lex(text: &str, start: usize, end: usize) -> Result<Vec<Tok>, CompileError> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = start;
    while i < end {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let s = i;
        let t = match c {
            b'(' => one(&mut i, T::LParen),
            b')' => one(&mut i, T::RParen),
            b',' => one(&mut i, T::Comma),
            b'"' => T::Str(quoted(text, &mut i, end, b'"')?),
            b'\'' => T::Quoted(quoted(text, &mut i, end, b'\'')?),
            b'0'..=b'9' => number(text, &mut i, end)?,
            b'.' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => number(text, &mut i, end)?,
            _ if is_ident_byte(c) => {
                while i < end && is_ident_byte(b[i]) {
                    i += 1;
                }
                if i + 1 < end && b[i] == b'.' && is_ident_byte(b[i + 1]) {
                    return Err(dotted_name(text, s, i, end));
                }
                T::Ident(text[s..i].to_string())
            }
            _ => T::Op(operator(text, &mut i, end)?),
        };
        out.push(Tok { t, span: Span::new(s, i) });
    }
    Ok(out)
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// `a.b` without quotes: Splunk reads it as `a . b`, a concatenation, which is rarely what
/// was meant; the rule must say which.
fn dotted_name(text: &str, s: usize, dot: usize, end: usize) -> CompileError {
    let b = text.as_bytes();
    let mut e = dot + 1;
    while e < end && (is_ident_byte(b[e]) || b[e] == b'.') {
        e += 1;
    }
    let found = format!(
        "{} (quote a field name with a dot as '{}', or put spaces around `.` to concatenate)",
        &text[s..e],
        &text[s..e]
    );
    CompileError::at(CompileErrorKind::UnsupportedSyntax { found }, Span::new(s, e), text)
}

fn one(i: &mut usize, t: T) -> T {
    *i += 1;
    t
}

/// A number: digits, an optional fraction, an optional exponent (`1`, `2.5`, `.5`, `1e3`,
/// `1.5E-2`). Digits followed by other letters are a field name such as `1st_seen`; anything
/// else that does not read as a number is an error.
fn number(text: &str, i: &mut usize, end: usize) -> Result<T, CompileError> {
    let b = text.as_bytes();
    let s = *i;
    let digits = |i: &mut usize| {
        let from = *i;
        while *i < end && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > from
    };
    let whole = digits(i);
    let mut fraction = false;
    if *i < end && b[*i] == b'.' {
        *i += 1;
        fraction = digits(i);
    }
    let mantissa_end = *i;
    if (whole || fraction) && *i < end && matches!(b[*i], b'e' | b'E') {
        let mut j = *i + 1;
        if j < end && matches!(b[j], b'+' | b'-') {
            j += 1;
        }
        let exp_start = j;
        while j < end && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > exp_start && !(j < end && is_ident_byte(b[j])) {
            *i = j;
        }
    }
    if *i == mantissa_end && whole && !text[s..*i].contains('.') && *i < end && is_ident_byte(b[*i])
    {
        while *i < end && is_ident_byte(b[*i]) {
            *i += 1;
        }
        return Ok(T::Ident(text[s..*i].to_string()));
    }
    let bad = *i < end && (is_ident_byte(b[*i]) || b[*i] == b'.');
    match text[s..*i].parse::<f64>() {
        Ok(n) if !bad && n.is_finite() => Ok(T::Num(n)),
        _ => {
            let mut e = *i;
            while e < end && (is_ident_byte(b[e]) || b[e] == b'.') {
                e += 1;
            }
            let found = format!("{} (not a number)", &text[s..e]);
            let kind = CompileErrorKind::UnsupportedSyntax { found };
            Err(CompileError::at(kind, Span::new(s, e), text))
        }
    }
}

fn quoted(text: &str, i: &mut usize, end: usize, q: u8) -> Result<String, CompileError> {
    let b = text.as_bytes();
    let s = *i;
    let mut out = String::new();
    let mut j = s + 1;
    let mut run = j;
    while j < end {
        if b[j] == q {
            out.push_str(&text[run..j]);
            *i = j + 1;
            return Ok(out);
        }
        if b[j] == b'\\' && (b.get(j + 1) == Some(&b'\\') || b.get(j + 1) == Some(&q)) {
            out.push_str(&text[run..j]);
            out.push(b[j + 1] as char);
            j += 2;
            run = j;
            continue;
        }
        j += 1;
    }
    let kind = CompileErrorKind::Syntax { expected: "a closing quote", found: String::new() };
    Err(CompileError::at(kind, Span::new(s, end), text))
}

const OPERATORS: &[&str] = &["==", "!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "%", "."];

fn operator(text: &str, i: &mut usize, end: usize) -> Result<&'static str, CompileError> {
    let rest = &text[*i..end];
    match OPERATORS.iter().find(|op| rest.starts_with(**op)) {
        Some(op) => {
            *i += op.len();
            Ok(op)
        }
        None => {
            let len = rest.chars().next().map_or(1, char::len_utf8);
            let found = rest[..len].to_string();
            let kind = CompileErrorKind::UnsupportedSyntax { found };
            Err(CompileError::at(kind, Span::new(*i, *i + len), text))
        }
    }
}

struct P<'t> {
    toks: Vec<Tok>,
    pos: usize,
    text: &'t str,
    end: usize,
    depth: usize,
    /// Operators and calls so far in the current expression.
    operators: usize,
}

impl P<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn bump(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += usize::from(t.is_some());
        t
    }

    fn eat(&mut self, t: &T) -> bool {
        let hit = self.peek().is_some_and(|x| &x.t == t);
        self.pos += usize::from(hit);
        hit
    }

    fn eat_op(&mut self, op: &str) -> bool {
        let hit = matches!(self.peek(), Some(Tok { t: T::Op(o), .. }) if *o == op);
        self.pos += usize::from(hit);
        hit
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        let hit =
            matches!(self.peek(), Some(Tok { t: T::Ident(w), .. }) if w.eq_ignore_ascii_case(kw));
        self.pos += usize::from(hit);
        hit
    }

    fn error(&self, expected: &'static str) -> CompileError {
        let (found, span) = match self.peek() {
            Some(t) => (self.text[t.span.start..t.span.end].to_string(), t.span),
            None => (String::new(), Span::new(self.end, self.end)),
        };
        CompileError::at(CompileErrorKind::Syntax { expected, found }, span, self.text)
    }

    fn error_before(&mut self, expected: &'static str) -> CompileError {
        self.pos = self.pos.saturating_sub(1);
        self.error(expected)
    }

    fn expect_end(&self) -> Result<(), CompileError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.error("an operator or the end of the expression")),
        }
    }

    fn nest(&mut self) -> Result<(), CompileError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("at most 40 nested eval expressions"));
        }
        self.count_operator()
    }

    fn count_operator(&mut self) -> Result<(), CompileError> {
        self.operators += 1;
        if self.operators > MAX_OPERATORS {
            return Err(self.error("at most 1000 operators and calls in one eval expression"));
        }
        Ok(())
    }

    fn binary_level(
        &mut self,
        ops: &[(&str, BinOp)],
        keyword: bool,
        next: fn(&mut Self) -> Result<EvalExpr, CompileError>,
    ) -> Result<EvalExpr, CompileError> {
        let mut lhs = next(self)?;
        'outer: loop {
            for (text, op) in ops {
                let hit = if keyword { self.eat_kw(text) } else { self.eat_op(text) };
                if hit {
                    self.count_operator()?;
                    let rhs = next(self)?;
                    lhs = EvalExpr::Binary { op: *op, lhs: Box::new(lhs), rhs: Box::new(rhs) };
                    continue 'outer;
                }
            }
            return Ok(lhs);
        }
    }

    fn or(&mut self) -> Result<EvalExpr, CompileError> {
        self.binary_level(&[("OR", BinOp::Or)], true, Self::xor)
    }

    fn xor(&mut self) -> Result<EvalExpr, CompileError> {
        self.binary_level(&[("XOR", BinOp::Xor)], true, Self::and)
    }

    fn and(&mut self) -> Result<EvalExpr, CompileError> {
        self.binary_level(&[("AND", BinOp::And)], true, Self::not)
    }

    fn not(&mut self) -> Result<EvalExpr, CompileError> {
        if self.eat_kw("NOT") {
            self.nest()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(EvalExpr::Not(Box::new(inner)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<EvalExpr, CompileError> {
        let lhs = self.additive()?;
        const OPS: &[(&str, BinOp)] = &[
            ("==", BinOp::Eq),
            ("=", BinOp::Eq),
            ("!=", BinOp::Ne),
            ("<=", BinOp::Le),
            (">=", BinOp::Ge),
            ("<", BinOp::Lt),
            (">", BinOp::Gt),
        ];
        for (text, op) in OPS {
            if self.eat_op(text) {
                self.count_operator()?;
                let rhs = self.additive()?;
                return Ok(EvalExpr::Binary { op: *op, lhs: Box::new(lhs), rhs: Box::new(rhs) });
            }
        }
        if self.eat_kw("LIKE") {
            let rhs = self.additive()?;
            return Ok(EvalExpr::Binary {
                op: BinOp::Like,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            });
        }
        if self.eat_kw("IN") {
            if !self.eat(&T::LParen) {
                return Err(self.error("`(` after IN"));
            }
            let list = self.arguments()?;
            if list.is_empty() {
                return Err(self.error_before("a value in the IN list"));
            }
            return Ok(EvalExpr::In { expr: Box::new(lhs), list });
        }
        Ok(lhs)
    }

    fn additive(&mut self) -> Result<EvalExpr, CompileError> {
        let ops = [("+", BinOp::Add), ("-", BinOp::Sub), (".", BinOp::Concat)];
        self.binary_level(&ops, false, Self::multiplicative)
    }

    fn multiplicative(&mut self) -> Result<EvalExpr, CompileError> {
        let ops = [("*", BinOp::Mul), ("/", BinOp::Div), ("%", BinOp::Mod)];
        self.binary_level(&ops, false, Self::unary)
    }

    fn unary(&mut self) -> Result<EvalExpr, CompileError> {
        if self.eat_op("-") {
            self.nest()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(EvalExpr::Neg(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<EvalExpr, CompileError> {
        let Some(tok) = self.bump() else {
            return Err(self.error("a value, a field or a function call"));
        };
        match tok.t {
            T::LParen => {
                self.nest()?;
                let inner = self.or()?;
                self.depth -= 1;
                if !self.eat(&T::RParen) {
                    return Err(self.error("`)`"));
                }
                Ok(inner)
            }
            T::Str(s) => Ok(EvalExpr::Str(s)),
            T::Num(n) => Ok(EvalExpr::Num(n)),
            T::Quoted(name) => Ok(EvalExpr::Field(Spanned { node: name, span: tok.span })),
            T::Ident(name) if self.eat(&T::LParen) => {
                self.nest()?;
                let args = self.arguments()?;
                self.depth -= 1;
                Ok(EvalExpr::Call { name: Spanned { node: name, span: tok.span }, args })
            }
            T::Ident(name) => Ok(EvalExpr::Field(Spanned { node: name, span: tok.span })),
            _ => Err(self.error_before("a value, a field or a function call")),
        }
    }

    /// The arguments after `(`, through the closing `)`.
    fn arguments(&mut self) -> Result<Vec<EvalExpr>, CompileError> {
        let mut args = Vec::new();
        if self.eat(&T::RParen) {
            return Ok(args);
        }
        loop {
            args.push(self.or()?);
            if self.eat(&T::Comma) {
                continue;
            }
            if self.eat(&T::RParen) {
                return Ok(args);
            }
            return Err(self.error("`,` or `)`"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(e: &EvalExpr) -> String {
        match e {
            EvalExpr::Field(f) => f.node.clone(),
            EvalExpr::Str(s) => format!("{s:?}"),
            EvalExpr::Num(n) => n.to_string(),
            EvalExpr::Call { name, args } => {
                let a: Vec<String> = args.iter().map(show).collect();
                format!("{}({})", name.node, a.join(","))
            }
            EvalExpr::Not(x) => format!("not({})", show(x)),
            EvalExpr::Neg(x) => format!("neg({})", show(x)),
            EvalExpr::Binary { op, lhs, rhs } => format!("{op:?}({},{})", show(lhs), show(rhs)),
            EvalExpr::In { expr, list } => {
                let a: Vec<String> = list.iter().map(show).collect();
                format!("in({};{})", show(expr), a.join(","))
            }
        }
    }

    fn p(s: &str) -> String {
        show(&parse_expr(s, 0, s.len()).unwrap())
    }

    #[test]
    fn and_binds_tighter_than_or_in_eval() {
        assert_eq!(p("a=1 OR b=2 AND c=3"), "Or(Eq(a,1),And(Eq(b,2),Eq(c,3)))");
        assert_eq!(p("x > 10 or y > 10"), "Or(Gt(x,10),Gt(y,10))");
        assert_eq!(p("NOT a=1 AND b=2"), "And(not(Eq(a,1)),Eq(b,2))");
    }

    #[test]
    fn strings_fields_and_concatenation() {
        assert_eq!(
            p(r#"match(process_name, "(?i)".'orig.name')"#),
            r#"match(process_name,Concat("(?i)",orig.name))"#
        );
        assert_eq!(p(r#"x == "a\"b\\c\d""#), r#"Eq(x,"a\"b\\c\\d")"#);
        assert_eq!(p("a + b * -2"), "Add(a,Mul(b,neg(2)))");
        assert_eq!(p(r#"f IN ("a", "b")"#), r#"in(f;"a","b")"#);
    }

    #[test]
    fn numbers_take_fractions_and_exponents_and_digits_can_start_a_field() {
        assert_eq!(p("1e3 + .5 + 2.5E-1"), "Add(Add(1000,0.5),0.25)");
        assert_eq!(p("1st_seen > 2"), "Gt(1st_seen,2)");
    }

    #[test]
    fn assignments_split_at_top_level_commas() {
        let s = r#"a=if(x>1, "y", "n"), b=len(c)"#;
        let got = parse_assignments(s, 0, s.len()).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].0.node, "b");
        assert_eq!(show(&got[0].1), r#"if(Gt(x,1),"y","n")"#);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let chain = vec!["a>0"; 3000].join(" AND ");
        for s in [
            "(a",
            "a ==",
            "f(",
            "'x",
            "a ! b",
            "a b",
            "Processes.dest=1",
            "1.2.3",
            "x < 1.2.3",
            "1e400",
            &"(".repeat(500),
            &chain,
        ] {
            assert!(parse_expr(s, 0, s.len()).is_err(), "{s}");
        }
    }
}
