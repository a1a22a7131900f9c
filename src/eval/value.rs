//! Evaluation of the eval language (`where`, `eval`) over one result row.
//!
//! Owns eval semantics: null propagates through comparisons and arithmetic and is false in
//! `where` (`NOT null` is still null); `=` on strings is case-sensitive; two values that both
//! read as numbers compare as numbers, anything else byte-wise; a multivalue field compares
//! true when any of its values does; `+` adds numbers and joins strings. It must not log or
//! know where rows come from.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::plan::evalexpr::{Ev, Func};
use crate::spl::ast::BinOp;

/// An eval value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// No value.
    Null,
    /// A string (a field value, a literal or a result).
    Str(Cow<'a, str>),
    /// A number.
    Num(f64),
    /// A truth value (only conditions have one).
    Bool(bool),
    /// Several values.
    Multi(Vec<Cow<'a, str>>),
}

/// A row whose columns eval can read.
pub trait Columns {
    /// The value of column `i`.
    fn value(&self, i: usize) -> Value<'_>;
}

/// Whether `ev` is true for `row` (`where`).
pub fn is_true<'r>(ev: &'r Ev, row: &'r dyn Columns) -> bool {
    matches!(evaluate(ev, row), Value::Bool(true))
}

/// A number as eval prints it: integers without a fraction, others in the shortest form
/// that reads back the same.
pub fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// The number a string reads as, if it is one (sign, digits, one point, exponent).
pub fn as_number(s: &str) -> Option<f64> {
    let t = s.trim();
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    let ok = !body.is_empty()
        && body.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.')
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if !ok {
        return None;
    }
    t.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Evaluates `ev` over `row`; string literals are borrowed from `ev`, not copied per row.
pub fn evaluate<'r>(ev: &'r Ev, row: &'r dyn Columns) -> Value<'r> {
    match ev {
        Ev::Col(i) => row.value(*i),
        Ev::Null => Value::Null,
        Ev::Str(s) => Value::Str(Cow::Borrowed(s)),
        Ev::Num(n) => Value::Num(*n),
        Ev::True => Value::Bool(true),
        Ev::Not(x) => match evaluate(x, row) {
            Value::Bool(b) => Value::Bool(!b),
            _ => Value::Null,
        },
        Ev::Neg(x) => number(&evaluate(x, row)).map_or(Value::Null, |n| Value::Num(-n)),
        Ev::Bin(op, a, b) => binary(*op, evaluate(a, row), evaluate(b, row)),
        Ev::In(x, list) => {
            let x = evaluate(x, row);
            if x == Value::Null {
                return Value::Null;
            }
            let hit = list.iter().any(|item| {
                let item = evaluate(item, row);
                any_pair(&x, &item, |a, b| compare(a, b) == Some(Ordering::Equal))
            });
            Value::Bool(hit)
        }
        Ev::Match(x, re) => test_each(evaluate(x, row), |s| re.0.is_match(s)),
        Ev::Replace(x, re, with) => {
            map_each(evaluate(x, row), |s| re.0.replace_all(s, with.as_str()).into_owned())
        }
        Ev::Call(f, args) => call(*f, args, row),
    }
}

fn strings<'v, 'a>(v: &'v Value<'a>) -> Vec<Cow<'v, str>> {
    match v {
        Value::Null | Value::Bool(_) => Vec::new(),
        Value::Str(s) => vec![Cow::Borrowed(s.as_ref())],
        Value::Num(n) => vec![Cow::Owned(number_text(*n))],
        Value::Multi(vs) => vs.iter().map(|s| Cow::Borrowed(s.as_ref())).collect(),
    }
}

fn first_string(v: &Value<'_>) -> Option<String> {
    strings(v).into_iter().next().map(Cow::into_owned)
}

fn number(v: &Value<'_>) -> Option<f64> {
    match v {
        Value::Num(n) => Some(*n),
        Value::Str(s) => as_number(s),
        Value::Multi(vs) => vs.first().and_then(|s| as_number(s)),
        _ => None,
    }
}

/// Compares two scalar texts: numerically when both are numbers, else byte-wise.
pub fn compare(a: &str, b: &str) -> Option<Ordering> {
    match (as_number(a), as_number(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y),
        _ => Some(a.as_bytes().cmp(b.as_bytes())),
    }
}

/// Whether `test` holds for some pair of values of `a` and `b`.
fn any_pair(a: &Value<'_>, b: &Value<'_>, test: impl Fn(&str, &str) -> bool) -> bool {
    let (xs, ys) = (strings(a), strings(b));
    xs.iter().any(|x| ys.iter().any(|y| test(x, y)))
}

fn test_each(v: Value<'_>, test: impl Fn(&str) -> bool) -> Value<'static> {
    match v {
        Value::Null | Value::Bool(_) => Value::Null,
        v => Value::Bool(strings(&v).iter().any(|s| test(s))),
    }
}

fn map_each<'a>(v: Value<'a>, f: impl Fn(&str) -> String) -> Value<'a> {
    match v {
        Value::Multi(vs) => Value::Multi(vs.iter().map(|s| Cow::Owned(f(s))).collect()),
        Value::Null | Value::Bool(_) => Value::Null,
        v => Value::Str(Cow::Owned(f(&strings(&v)[0]))),
    }
}

fn truth(v: &Value<'_>) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        _ => None,
    }
}

fn binary<'a>(op: BinOp, a: Value<'a>, b: Value<'a>) -> Value<'a> {
    use BinOp::*;
    match op {
        Or => match (truth(&a), truth(&b)) {
            (Some(true), _) | (_, Some(true)) => Value::Bool(true),
            (Some(false), Some(false)) => Value::Bool(false),
            _ => Value::Null,
        },
        And => match (truth(&a), truth(&b)) {
            (Some(false), _) | (_, Some(false)) => Value::Bool(false),
            (Some(true), Some(true)) => Value::Bool(true),
            _ => Value::Null,
        },
        Xor => match (truth(&a), truth(&b)) {
            (Some(x), Some(y)) => Value::Bool(x != y),
            _ => Value::Null,
        },
        Eq | Ne | Lt | Le | Gt | Ge => relation(op, &a, &b),
        Like => match strings(&b).first() {
            Some(p) if !matches!(a, Value::Null | Value::Bool(_)) => {
                let p = p.to_string();
                test_each(a, |s| like(s, &p))
            }
            _ => Value::Null,
        },
        Add => match (number(&a), number(&b), &a, &b) {
            (_, _, Value::Null, _) | (_, _, _, Value::Null) => Value::Null,
            (Some(x), Some(y), _, _) => Value::Num(x + y),
            _ => concat(&a, &b),
        },
        Concat => concat(&a, &b),
        Sub | Mul | Div | Mod => arithmetic(op, number(&a), number(&b)),
    }
}

fn relation(op: BinOp, a: &Value<'_>, b: &Value<'_>) -> Value<'static> {
    if matches!(a, Value::Null | Value::Bool(_)) || matches!(b, Value::Null | Value::Bool(_)) {
        return Value::Null;
    }
    let holds = |x: &str, y: &str| {
        let Some(o) = compare(x, y) else { return false };
        match op {
            BinOp::Eq => o == Ordering::Equal,
            BinOp::Ne => o != Ordering::Equal,
            BinOp::Lt => o == Ordering::Less,
            BinOp::Le => o != Ordering::Greater,
            BinOp::Gt => o == Ordering::Greater,
            _ => o != Ordering::Less,
        }
    };
    Value::Bool(any_pair(a, b, holds))
}

fn concat<'a>(a: &Value<'_>, b: &Value<'_>) -> Value<'a> {
    match (first_string(a), first_string(b)) {
        (Some(x), Some(y)) => Value::Str(Cow::Owned(x + &y)),
        _ => Value::Null,
    }
}

fn arithmetic(op: BinOp, a: Option<f64>, b: Option<f64>) -> Value<'static> {
    let (Some(x), Some(y)) = (a, b) else { return Value::Null };
    let n = match op {
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div if y != 0.0 => x / y,
        BinOp::Mod if y != 0.0 => x % y,
        _ => return Value::Null,
    };
    Value::Num(n)
}

/// SQL `LIKE`: `%` any run, `_` one character, anchored, case-sensitive.
pub fn like(s: &str, pattern: &str) -> bool {
    let s: Vec<char> = s.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    // Iterative matching with one backtrack point for the last `%`.
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if j < p.len() && (p[j] == '_' || p[j] == s[i]) {
            i += 1;
            j += 1;
        } else if j < p.len() && p[j] == '%' {
            star = Some((j, i));
            j += 1;
        } else if let Some((sj, si)) = star {
            j = sj + 1;
            i = si + 1;
            star = Some((sj, si + 1));
        } else {
            return false;
        }
    }
    p[j..].iter().all(|c| *c == '%')
}

fn call<'r>(f: Func, args: &'r [Ev], row: &'r dyn Columns) -> Value<'r> {
    let arg = |i: usize| evaluate(&args[i], row);
    match f {
        Func::IsNull => Value::Bool(arg(0) == Value::Null),
        Func::IsNotNull => Value::Bool(arg(0) != Value::Null),
        Func::If => match arg(0) {
            Value::Bool(true) => arg(1),
            _ => arg(2),
        },
        Func::Case => {
            let hit = (0..args.len() / 2).find(|k| arg(2 * k) == Value::Bool(true));
            hit.map_or(Value::Null, |k| arg(2 * k + 1))
        }
        Func::Like => binary(BinOp::Like, arg(0), arg(1)),
        Func::Len => {
            first_string(&arg(0)).map_or(Value::Null, |s| Value::Num(s.chars().count() as f64))
        }
        Func::Lower => map_each(arg(0), str::to_lowercase),
        Func::Upper => map_each(arg(0), str::to_uppercase),
        Func::Coalesce => {
            (0..args.len()).map(arg).find(|v| *v != Value::Null).unwrap_or(Value::Null)
        }
        Func::MvCount => match arg(0) {
            Value::Null => Value::Null,
            Value::Multi(vs) => Value::Num(vs.len() as f64),
            _ => Value::Num(1.0),
        },
        Func::Split => split(&arg(0), &arg(1)),
        Func::MvIndex => {
            mvindex(&arg(0), number(&arg(1)), args.get(2).map(|e| number(&evaluate(e, row))))
        }
        Func::MvJoin => match (strings(&arg(0)), first_string(&arg(1))) {
            (vs, Some(sep)) if !vs.is_empty() => Value::Str(Cow::Owned(vs.join(sep.as_str()))),
            _ => Value::Null,
        },
        Func::Substr => {
            let len = args.get(2).map(|e| number(&evaluate(e, row)));
            substr(first_string(&arg(0)), number(&arg(1)), len)
        }
        Func::Trim | Func::Ltrim | Func::Rtrim => {
            let chars =
                args.get(1).map_or(Some(" \t".to_string()), |e| first_string(&evaluate(e, row)));
            let Some(chars) = chars else { return Value::Null };
            let set = |c: char| chars.contains(c);
            map_each(arg(0), |s| match f {
                Func::Trim => s.trim_matches(set).to_string(),
                Func::Ltrim => s.trim_start_matches(set).to_string(),
                _ => s.trim_end_matches(set).to_string(),
            })
        }
        Func::ToString => match arg(0) {
            Value::Bool(b) => Value::Str(Cow::Borrowed(if b { "True" } else { "False" })),
            v => first_string(&v).map_or(Value::Null, |s| Value::Str(Cow::Owned(s))),
        },
        Func::ToNumber => number(&arg(0)).map_or(Value::Null, Value::Num),
        Func::Abs => number(&arg(0)).map_or(Value::Null, |n| Value::Num(n.abs())),
    }
}

fn split<'a>(v: &Value<'_>, sep: &Value<'_>) -> Value<'a> {
    let (Some(s), Some(sep)) = (first_string(v), first_string(sep)) else { return Value::Null };
    let parts: Vec<Cow<'a, str>> = if sep.is_empty() {
        s.chars().map(|c| Cow::Owned(c.to_string())).collect()
    } else {
        s.split(sep.as_str()).map(|p| Cow::Owned(p.to_string())).collect()
    };
    Value::Multi(parts)
}

fn mvindex<'a>(v: &Value<'a>, start: Option<f64>, end: Option<Option<f64>>) -> Value<'a> {
    let vs: Vec<Cow<'a, str>> = match v {
        Value::Multi(vs) => vs.clone(),
        Value::Null | Value::Bool(_) => return Value::Null,
        other => strings(other).into_iter().map(|s| Cow::Owned(s.into_owned())).collect(),
    };
    let n = vs.len() as i64;
    let at = |x: f64| {
        let i = x as i64;
        if i < 0 {
            n + i
        } else {
            i
        }
    };
    let Some(s) = start.map(at).filter(|s| (0..n).contains(s)) else { return Value::Null };
    let e = match end {
        None => s,
        Some(None) => return Value::Null,
        Some(Some(e)) => at(e).min(n - 1),
    };
    if e < s {
        return Value::Null;
    }
    let picked: Vec<Cow<'a, str>> = vs[s as usize..=e as usize].to_vec();
    if picked.len() == 1 {
        return Value::Str(picked.into_iter().next().expect("one"));
    }
    Value::Multi(picked)
}

fn substr<'a>(s: Option<String>, start: Option<f64>, len: Option<Option<f64>>) -> Value<'a> {
    let (Some(s), Some(start)) = (s, start) else { return Value::Null };
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len() as i64;
    // `as` saturates a float, and every sum below saturates, so no count overflows.
    let start = start as i64;
    let from = if start > 0 {
        start - 1
    } else if start < 0 {
        n.saturating_add(start).max(0)
    } else {
        0
    };
    let from = from.min(n);
    let to = match len {
        None => n,
        Some(None) => return Value::Null,
        Some(Some(l)) => from.saturating_add((l as i64).max(0)).min(n),
    };
    Value::Str(Cow::Owned(chars[from as usize..to as usize].iter().collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::evalexpr::lower;
    use crate::spl::eval_syntax::parse_expr;

    struct Row(Vec<Value<'static>>);

    impl Columns for Row {
        fn value(&self, i: usize) -> Value<'_> {
            self.0.get(i).cloned().unwrap_or(Value::Null)
        }
    }

    fn s(x: &'static str) -> Value<'static> {
        Value::Str(Cow::Borrowed(x))
    }

    fn row() -> Row {
        // a, b, c (multivalue), d (missing)
        let mv = Value::Multi(vec![Cow::Borrowed("cmd.exe"), Cow::Borrowed("Rundll32.exe")]);
        Row(vec![s("10"), s("Hello"), mv, Value::Null])
    }

    fn ev(text: &str) -> Value<'static> {
        let cols: Vec<String> = ["a", "b", "c", "d"].iter().map(|c| c.to_string()).collect();
        let e = lower(&parse_expr(text, 0, text.len()).unwrap(), &cols).unwrap();
        let r = row();
        match evaluate(&e, &r) {
            Value::Str(x) => Value::Str(Cow::Owned(x.into_owned())),
            Value::Multi(v) => {
                Value::Multi(v.into_iter().map(|x| Cow::Owned(x.into_owned())).collect())
            }
            Value::Num(n) => Value::Num(n),
            Value::Bool(b) => Value::Bool(b),
            Value::Null => Value::Null,
        }
    }

    #[test]
    fn numbers_compare_as_numbers_and_strings_with_case() {
        assert_eq!(ev("a >= 9"), Value::Bool(true), "10 >= 9 numerically");
        assert_eq!(ev("a > \"9\""), Value::Bool(true));
        assert_eq!(ev("b == \"hello\""), Value::Bool(false), "eval = keeps case");
        assert_eq!(ev("b == \"Hello\""), Value::Bool(true));
    }

    #[test]
    fn null_propagates_and_is_not_true() {
        assert_eq!(ev("d = 1"), Value::Null);
        assert_eq!(ev("NOT d = 1"), Value::Null);
        assert_eq!(ev("d = 1 OR a = 10"), Value::Bool(true));
        assert_eq!(ev("d = 1 AND a = 10"), Value::Null);
        assert_eq!(ev("isnull(d) AND isnotnull(a)"), Value::Bool(true));
        assert_eq!(ev("coalesce(d, b)"), s("Hello"));
        assert_eq!(ev("if(d=1, \"y\", \"n\")"), s("n"));
    }

    #[test]
    fn multivalue_fields_hold_when_any_value_does() {
        assert_eq!(ev("c = \"cmd.exe\""), Value::Bool(true));
        assert_eq!(ev("match(c, \"(?i)^rundll32\")"), Value::Bool(true));
        assert_eq!(ev("match(c, \"^rundll32\")"), Value::Bool(false));
        assert_eq!(ev("mvcount(c)"), Value::Num(2.0));
        assert_eq!(ev("mvcount(d)"), Value::Null);
        assert_eq!(ev("mvindex(c, -1)"), s("Rundll32.exe"));
        assert_eq!(ev("c IN (\"x\", \"Rundll32.exe\")"), Value::Bool(true));
    }

    #[test]
    fn string_functions() {
        assert_eq!(ev("len(b)"), Value::Num(5.0));
        assert_eq!(ev("lower(b) . \"!\""), s("hello!"));
        assert_eq!(ev("upper(c)"), Value::Multi(vec!["CMD.EXE".into(), "RUNDLL32.EXE".into()]));
        assert_eq!(ev("substr(b, 2, 3)"), s("ell"));
        assert_eq!(ev("substr(b, -2)"), s("lo"));
        assert_eq!(ev("substr(b, 2, 9223372036854775807)"), s("ello"), "no overflow");
        assert_eq!(ev("substr(b, -99999999999999999999)"), s("Hello"));
        assert_eq!(ev("mvjoin(split(\"a,b,c\", \",\"), \"|\")"), s("a|b|c"));
        assert_eq!(ev("replace(b, \"l+\", \"L\")"), s("HeLo"));
        assert_eq!(ev("a + 5"), Value::Num(15.0));
        assert_eq!(ev("b + \"x\""), s("Hellox"));
        assert_eq!(ev("a / 0"), Value::Null);
        assert_eq!(ev("case(a > 20, \"big\", a > 5, \"mid\")"), s("mid"));
    }

    #[test]
    fn trimming_conversion_and_constants() {
        assert_eq!(ev("trim(\"  x \")"), s("x"));
        assert_eq!(ev("ltrim(\"xxyx\", \"x\")"), s("yx"));
        assert_eq!(ev("rtrim(\"a.exe..\", \".\")"), s("a.exe"));
        assert_eq!(ev("tonumber(a) * 2"), Value::Num(20.0));
        assert_eq!(ev("tonumber(b)"), Value::Null);
        assert_eq!(ev("tostring(a + 1)"), s("11"));
        assert_eq!(ev("abs(-3)"), Value::Num(3.0));
        assert_eq!(ev("if(true(), 1, 2)"), Value::Num(1.0));
        assert_eq!(ev("coalesce(null(), d, 7)"), Value::Num(7.0));
        assert_eq!(ev("(a > 1) XOR (a > 100)"), Value::Bool(true));
    }

    #[test]
    fn like_uses_percent_and_underscore() {
        assert!(!like("C:\\Windows\\System32\\x.exe", "%\\windows\\%"));
        assert!(like("C:\\windows\\System32\\x.exe", "%\\windows\\%"));
        assert!(like("abc", "a_c"));
        assert!(!like("abcd", "a_c"));
        assert!(like("", "%"));
        assert_eq!(number_text(2.5), "2.5");
        assert_eq!(number_text(3.0), "3");
        assert_eq!(as_number("0x10"), None);
        assert_eq!(as_number(" -1.5e3 "), Some(-1500.0));
    }
}
