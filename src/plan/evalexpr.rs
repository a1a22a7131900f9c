//! The eval language of `where` and `eval`, lowered: field names resolved to result columns,
//! functions resolved to `Func`, literal regular expressions compiled.
//!
//! Owns which eval functions exist, how many arguments each takes, and which expressions are
//! boolean (Splunk refuses a boolean assigned by `eval` and a non-boolean `where`). It must
//! not evaluate anything; `eval::value` does.

use crate::spl::ast::{BinOp, EvalExpr, Span, Spanned};
use crate::spl::{CompileError, CompileErrorKind};

/// A compiled regular expression, compared by its text.
#[derive(Debug, Clone)]
pub struct Regex(pub regex::Regex);

impl PartialEq for Regex {
    fn eq(&self, other: &Regex) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

/// Compiles a regular expression written in a rule, refusing what the regex syntax lacks.
pub fn compile_regex(pattern: &str, span: Span) -> Result<Regex, CompileError> {
    let refuse = |reason: String| {
        let kind = CompileErrorKind::BadRegex { pattern: pattern.to_string(), reason };
        CompileError { kind, span: Some(span), search: String::new() }
    };
    if has_possessive_quantifier(pattern) {
        // PCRE reads `a*+` as possessive; the regex crate would read it as `(a*)+`.
        return Err(refuse("possessive quantifiers (`*+`, `++`, `?+`, `}+`)".to_string()));
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 24)
        .build()
        .map(Regex)
        .map_err(|e| refuse(e.to_string()))
}

/// Whether a quantifier outside a character class is followed by `+`.
fn has_possessive_quantifier(pattern: &str) -> bool {
    let b = pattern.as_bytes();
    let (mut i, mut class) = (0, false);
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'[' if !class => class = true,
            b']' if class => class = false,
            b'*' | b'+' | b'?' | b'}' if !class && b.get(i + 1) == Some(&b'+') => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// The eval functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// `isnull(x)`
    IsNull,
    /// `isnotnull(x)`
    IsNotNull,
    /// `if(c, a, b)`
    If,
    /// `case(c1, v1, ...)`
    Case,
    /// `like(x, pattern)`
    Like,
    /// `len(x)`
    Len,
    /// `lower(x)`
    Lower,
    /// `upper(x)`
    Upper,
    /// `coalesce(x, ...)`
    Coalesce,
    /// `mvcount(x)`
    MvCount,
    /// `split(x, sep)`
    Split,
    /// `mvindex(x, start[, end])`
    MvIndex,
    /// `mvjoin(x, sep)`
    MvJoin,
    /// `substr(x, start[, len])`
    Substr,
    /// `trim(x[, chars])`
    Trim,
    /// `ltrim(x[, chars])`
    Ltrim,
    /// `rtrim(x[, chars])`
    Rtrim,
    /// `tostring(x)`
    ToString,
    /// `tonumber(x)`
    ToNumber,
    /// `abs(x)`
    Abs,
}

/// `(name, function, fewest arguments, most arguments)`.
const FUNCTIONS: &[(&str, Func, usize, usize)] = &[
    ("isnull", Func::IsNull, 1, 1),
    ("isnotnull", Func::IsNotNull, 1, 1),
    ("if", Func::If, 3, 3),
    ("case", Func::Case, 2, usize::MAX),
    ("like", Func::Like, 2, 2),
    ("len", Func::Len, 1, 1),
    ("lower", Func::Lower, 1, 1),
    ("upper", Func::Upper, 1, 1),
    ("coalesce", Func::Coalesce, 1, usize::MAX),
    ("mvcount", Func::MvCount, 1, 1),
    ("split", Func::Split, 2, 2),
    ("mvindex", Func::MvIndex, 2, 3),
    ("mvjoin", Func::MvJoin, 2, 2),
    ("substr", Func::Substr, 2, 3),
    ("trim", Func::Trim, 1, 2),
    ("ltrim", Func::Ltrim, 1, 2),
    ("rtrim", Func::Rtrim, 1, 2),
    ("tostring", Func::ToString, 1, 1),
    ("tonumber", Func::ToNumber, 1, 1),
    ("abs", Func::Abs, 1, 1),
];

/// A lowered eval expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Ev {
    /// A result column.
    Col(usize),
    /// `null()`, or a field no row has.
    Null,
    /// A string.
    Str(String),
    /// A number.
    Num(f64),
    /// `true()`.
    True,
    /// `NOT x`.
    Not(Box<Ev>),
    /// `-x`.
    Neg(Box<Ev>),
    /// A binary operation.
    Bin(BinOp, Box<Ev>, Box<Ev>),
    /// `x IN (...)` and `in(x, ...)`.
    In(Box<Ev>, Vec<Ev>),
    /// `match(x, "re")`.
    Match(Box<Ev>, Regex),
    /// `replace(x, "re", "with")`.
    Replace(Box<Ev>, Regex, String),
    /// Any other function.
    Call(Func, Vec<Ev>),
}

impl Ev {
    /// Whether the expression gives a boolean (a comparison, a logical operation or a
    /// predicate function).
    pub fn is_boolean(&self) -> bool {
        use BinOp::*;
        match self {
            Ev::True | Ev::Not(_) | Ev::In(..) | Ev::Match(..) => true,
            Ev::Bin(op, ..) => {
                matches!(op, Or | Xor | And | Eq | Ne | Lt | Le | Gt | Ge | Like)
            }
            Ev::Call(f, args) => match f {
                Func::IsNull | Func::IsNotNull | Func::Like => true,
                Func::If => args[1].is_boolean() && args[2].is_boolean(),
                _ => false,
            },
            _ => false,
        }
    }
}

impl Ev {
    /// Splunk's eval type check: logical operators, `NOT` and the conditions of `if` and
    /// `case` take booleans; comparisons, arithmetic and the other functions take values.
    /// Returns what is wrong, first found.
    pub fn type_error(&self) -> Option<String> {
        let need_bool = |x: &Ev, what: &str| {
            (!x.is_boolean()).then(|| format!("{what} takes a true/false operand"))
        };
        let need_value = |x: &Ev, what: &str| {
            x.is_boolean().then(|| format!("{what} takes a value, not a true/false result"))
        };
        let own = match self {
            Ev::Not(x) => need_bool(x, "NOT"),
            Ev::Neg(x) => need_value(x, "unary -"),
            Ev::Bin(op @ (BinOp::And | BinOp::Or | BinOp::Xor), a, b) => {
                let name = format!("{op:?}").to_uppercase();
                need_bool(a, &name).or_else(|| need_bool(b, &name))
            }
            Ev::Bin(op, a, b) => {
                let name = format!("`{op:?}`");
                need_value(a, &name).or_else(|| need_value(b, &name))
            }
            Ev::In(x, list) => std::iter::once(&**x).chain(list).find_map(|v| need_value(v, "IN")),
            Ev::Match(x, _) => need_value(x, "match()"),
            Ev::Replace(x, ..) => need_value(x, "replace()"),
            Ev::Call(Func::If, args) => need_bool(&args[0], "if()'s condition"),
            Ev::Call(Func::Case, args) => {
                args.iter().step_by(2).find_map(|c| need_bool(c, "case()'s condition")).or_else(
                    || args.iter().skip(1).step_by(2).find_map(|v| need_value(v, "case()")),
                )
            }
            Ev::Call(Func::IsNull | Func::IsNotNull, _) => None,
            Ev::Call(f, args) => {
                let name = format!("{f:?}()").to_lowercase();
                args.iter().find_map(|a| need_value(a, &name))
            }
            Ev::Col(_) | Ev::Null | Ev::Str(_) | Ev::Num(_) | Ev::True => None,
        };
        own.or_else(|| self.children().iter().find_map(|c| c.type_error()))
    }

    fn children(&self) -> Vec<&Ev> {
        match self {
            Ev::Not(x) | Ev::Neg(x) | Ev::Match(x, _) | Ev::Replace(x, ..) => vec![x],
            Ev::Bin(_, a, b) => vec![a, b],
            Ev::In(x, list) => std::iter::once(&**x).chain(list).collect(),
            Ev::Call(_, args) => args.iter().collect(),
            _ => Vec::new(),
        }
    }
}

fn err(kind: CompileErrorKind, span: Span) -> CompileError {
    CompileError { kind, span: Some(span), search: String::new() }
}

/// Lowers `e` over the result columns `columns` and type-checks it as Splunk does.
pub fn lower(e: &EvalExpr, columns: &[String]) -> Result<Ev, CompileError> {
    let ev = lower_unchecked(e, columns)?;
    match ev.type_error() {
        None => Ok(ev),
        Some(found) => Err(CompileError::bare(CompileErrorKind::UnsupportedSyntax { found })),
    }
}

fn lower_unchecked(e: &EvalExpr, columns: &[String]) -> Result<Ev, CompileError> {
    let sub = |x: &EvalExpr| lower_unchecked(x, columns).map(Box::new);
    Ok(match e {
        EvalExpr::Field(f) => match columns.iter().position(|c| *c == f.node) {
            Some(i) => Ev::Col(i),
            None => Ev::Null,
        },
        EvalExpr::Str(s) => Ev::Str(s.clone()),
        EvalExpr::Num(n) => Ev::Num(*n),
        EvalExpr::Not(x) => Ev::Not(sub(x)?),
        EvalExpr::Neg(x) => Ev::Neg(sub(x)?),
        EvalExpr::Binary { op, lhs, rhs } => Ev::Bin(*op, sub(lhs)?, sub(rhs)?),
        EvalExpr::In { expr, list } => {
            let list =
                list.iter().map(|x| lower_unchecked(x, columns)).collect::<Result<_, _>>()?;
            Ev::In(sub(expr)?, list)
        }
        EvalExpr::Call { name, args } => call(name, args, columns)?,
    })
}

fn call(name: &Spanned<String>, args: &[EvalExpr], columns: &[String]) -> Result<Ev, CompileError> {
    let lname = name.node.to_ascii_lowercase();
    let arity = |n: usize, m: usize| {
        if args.len() < n || args.len() > m {
            let kind = CompileErrorKind::UnsupportedFunction {
                name: format!("{}() with {} arguments", name.node, args.len()),
            };
            return Err(err(kind, name.span));
        }
        Ok(())
    };
    let lowered =
        || args.iter().map(|x| lower_unchecked(x, columns)).collect::<Result<Vec<_>, _>>();
    match lname.as_str() {
        "true" => arity(0, 0).map(|_| Ev::True),
        "null" => arity(0, 0).map(|_| Ev::Null),
        "in" => {
            arity(2, usize::MAX)?;
            let mut args = lowered()?;
            let first = args.remove(0);
            Ok(Ev::In(Box::new(first), args))
        }
        "match" => {
            arity(2, 2)?;
            let re = literal_regex(name, &args[1])?;
            Ok(Ev::Match(Box::new(lower_unchecked(&args[0], columns)?), re))
        }
        "replace" => {
            arity(3, 3)?;
            let re = literal_regex(name, &args[1])?;
            let EvalExpr::Str(with) = &args[2] else {
                return Err(computed_argument(name));
            };
            Ok(Ev::Replace(Box::new(lower_unchecked(&args[0], columns)?), re, replacement(with)))
        }
        _ => {
            let Some((_, f, n, m)) = FUNCTIONS.iter().find(|(n, ..)| *n == lname) else {
                let kind = CompileErrorKind::UnsupportedFunction { name: name.node.clone() };
                return Err(err(kind, name.span));
            };
            arity(*n, *m)?;
            if *f == Func::Case && args.len() % 2 == 1 {
                return arity(usize::MAX, 0).map(|_| Ev::Null);
            }
            Ok(Ev::Call(*f, lowered()?))
        }
    }
}

fn computed_argument(name: &Spanned<String>) -> CompileError {
    let kind = CompileErrorKind::UnsupportedFunction {
        name: format!("{}() with a computed pattern (only a quoted string)", name.node),
    };
    err(kind, name.span)
}

fn literal_regex(name: &Spanned<String>, arg: &EvalExpr) -> Result<Regex, CompileError> {
    match arg {
        EvalExpr::Str(s) => compile_regex(s, name.span),
        _ => Err(computed_argument(name)),
    }
}

/// PCRE-style `\1` back-references in a replacement become the regex crate's `${1}`, and a
/// literal `$` is escaped.
fn replacement(with: &str) -> String {
    let mut out = String::with_capacity(with.len());
    let mut chars = with.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' if chars.peek().is_some_and(char::is_ascii_digit) => {
                let d = chars.next().expect("peeked");
                out.push_str(&format!("${{{d}}}"));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spl::eval_syntax::parse_expr;

    fn low(s: &str) -> Result<Ev, CompileError> {
        lower(&parse_expr(s, 0, s.len())?, &["a".to_string(), "b".to_string()])
    }

    #[test]
    fn fields_resolve_to_columns_or_null() {
        assert_eq!(low("a").unwrap(), Ev::Col(0));
        assert_eq!(low("zzz").unwrap(), Ev::Null);
        assert_eq!(
            low("IN(b, \"x\")").unwrap(),
            Ev::In(Box::new(Ev::Col(1)), vec![Ev::Str("x".into())])
        );
    }

    #[test]
    fn unknown_functions_arity_and_computed_regexes_are_refused() {
        for s in ["nope(a)", "len(a, b)", "if(a, b)", "match(a, b)", "case(a)", "case(a, 1, b)"] {
            let e = low(s).unwrap_err();
            assert!(matches!(e.kind, CompileErrorKind::UnsupportedFunction { .. }), "{s}");
        }
        let e = low("match(a, \"(?<=x)y\")").unwrap_err();
        assert!(matches!(e.kind, CompileErrorKind::BadRegex { .. }));
        for possessive in [".*+x", "a++", "x{1}+", "(ab)?+"] {
            let e = low(&format!("match(a, \"{possessive}\")")).unwrap_err();
            assert!(matches!(e.kind, CompileErrorKind::BadRegex { .. }), "{possessive}");
        }
        for fine in ["a+b", "[*+]+", "\\\\++", "a{2}"] {
            assert!(low(&format!("match(a, \"{fine}\")")).is_ok(), "{fine}");
        }
    }

    #[test]
    fn type_errors_are_refused_as_splunk_refuses_them() {
        for bad in [
            "a AND b=1",
            "NOT a",
            "a OR true()",
            "if(a, 1, 2)",
            "mvcount(a>0)",
            "len(a>0) > 1",
            "(a>0) + 1",
            "case(a>0, a>0)",
        ] {
            assert!(low(bad).is_err(), "{bad}");
        }
        for good in ["a>0 AND NOT b=1", "if(a>0, \"x\", \"y\")", "isnull(a) OR a=1", "case(a>1, 1)"]
        {
            assert!(low(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn booleans_are_told_apart() {
        assert!(low("a > 1 AND isnotnull(b)").unwrap().is_boolean());
        assert!(!low("len(a)").unwrap().is_boolean());
        assert!(!low("if(a>1, \"x\", \"y\")").unwrap().is_boolean());
        assert_eq!(replacement(r"\1-$"), "${1}-$$");
    }
}
