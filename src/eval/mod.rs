//! Stage 6: predicate evaluation.
//!
//! Owns the truth of a plan `Expr` over anything that can list a field's values: CIM events in
//! tstats and result rows in `search`. `f=p` holds when some value matches; `f!=p` needs the
//! field present and no value matching; `NOT` also holds for a missing field (Part A.1). It
//! must not log or allocate per event.

pub mod value;

use crate::cim::CimEvent;
use crate::plan::{Expr, Pattern};
use crate::spl::ast::CmpOp;

/// Something whose fields can be tested.
pub trait Fields {
    /// Whether the field has at least one value.
    fn present(&self, field: usize) -> bool;
    /// Whether some value of the field matches `pattern`.
    fn any_match(&self, field: usize, pattern: &Pattern) -> bool {
        self.any_value(field, &|v| pattern.matches(v))
    }
    /// Whether some value of the field passes `test`.
    fn any_value(&self, field: usize, test: &dyn Fn(&str) -> bool) -> bool;
}

/// `value OP wanted` in the search language: numerically when both read as numbers, else
/// byte-wise (the eval language's comparison).
pub fn relation_holds(value: &str, op: CmpOp, wanted: &str) -> bool {
    use std::cmp::Ordering::*;
    match (op, value::compare(value, wanted)) {
        (_, None) => false,
        (CmpOp::Lt, Some(o)) => o == Less,
        (CmpOp::Le, Some(o)) => o != Greater,
        (CmpOp::Gt, Some(o)) => o == Greater,
        (CmpOp::Ge, Some(o)) => o != Less,
        (CmpOp::Eq, Some(o)) => o == Equal,
        (CmpOp::Ne, Some(o)) => o != Equal,
    }
}

/// Whether `fields` satisfy `expr`.
pub fn holds(expr: &Expr, fields: &dyn Fields) -> bool {
    match expr {
        Expr::And(parts) => parts.iter().all(|p| holds(p, fields)),
        Expr::Or(parts) => parts.iter().any(|p| holds(p, fields)),
        Expr::Not(inner) => !holds(inner, fields),
        Expr::Match { field, pattern } => fields.any_match(*field, pattern),
        Expr::NotMatch { field, pattern } => {
            fields.present(*field) && !fields.any_match(*field, pattern)
        }
        Expr::Compare { field, op, value } => {
            fields.any_value(*field, &|v| relation_holds(v, *op, value))
        }
        Expr::Missing => false,
        Expr::All => true,
    }
}

impl Fields for CimEvent<'_> {
    fn present(&self, field: usize) -> bool {
        self.values.get(field).is_some_and(|v| !v.is_empty())
    }

    fn any_value(&self, field: usize, test: &dyn Fn(&str) -> bool) -> bool {
        self.values.get(field).is_some_and(|v| v.iter().any(|x| test(x)))
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    fn ev(values: Vec<Vec<&'static str>>) -> CimEvent<'static> {
        let values =
            values.into_iter().map(|v| v.into_iter().map(Cow::Borrowed).collect()).collect();
        CimEvent { values, time: 0, time_fallback: false, mapped: 0 }
    }

    fn m(field: usize, p: &str) -> Expr {
        Expr::Match { field, pattern: Pattern::new(p) }
    }

    #[test]
    fn not_and_not_equal_differ_on_missing_fields() {
        let e = ev(vec![vec![], vec!["x"]]);
        assert!(holds(&Expr::Not(Box::new(m(0, "a"))), &e));
        let ne = Expr::NotMatch { field: 0, pattern: Pattern::new("a") };
        assert!(!holds(&ne, &e));
        let ne1 = Expr::NotMatch { field: 1, pattern: Pattern::new("a") };
        assert!(holds(&ne1, &e));
    }

    #[test]
    fn relational_compares_numbers_as_numbers_and_text_byte_wise() {
        let e = ev(vec![vec!["10"], vec!["b"], vec![]]);
        let cmp = |field, op, v: &str| Expr::Compare { field, op, value: v.to_string() };
        assert!(holds(&cmp(0, CmpOp::Gt, "9"), &e), "10 > 9 as numbers");
        assert!(!holds(&cmp(0, CmpOp::Gt, "9a"), &e), "\"10\" < \"9a\" byte-wise");
        assert!(holds(&cmp(1, CmpOp::Ge, "B"), &e), "b >= B byte-wise");
        assert!(!holds(&cmp(2, CmpOp::Lt, "5"), &e), "a missing field compares false");
        assert!(holds(&Expr::Not(Box::new(cmp(2, CmpOp::Lt, "5"))), &e));
    }

    #[test]
    fn multivalue_matches_when_any_value_does() {
        let e = ev(vec![vec!["MD5=1", "SHA256=2"]]);
        assert!(holds(&m(0, "sha256=*"), &e));
        let ne = Expr::NotMatch { field: 0, pattern: Pattern::new("md5=*") };
        assert!(!holds(&ne, &e));
    }
}
