//! Lowering of the commands after `tstats`: the result columns are tracked through every
//! step, so each `PostOp` addresses columns by index.
//!
//! Owns what each post-processing command means over result rows (Splunk's defaults: `sort`
//! keeps 10,000 rows, `head` 10, `dedup` drops rows missing a field). It must not touch events.

use super::evalexpr::{self, Ev, Regex};
use super::{compare, err, in_list, Expr};
use crate::spl::ast::{self, Command, SearchExpr, Spanned};
use crate::spl::{CompileError, CompileErrorKind};

/// A step applied to the result rows after grouping.
#[derive(Debug, Clone, PartialEq)]
pub enum PostOp {
    /// Columns take new names; `names` is the full list after the step.
    Rename {
        /// Column names after the rename.
        names: Vec<String>,
    },
    /// `convert ctime`: the column's epoch values become text.
    Ctime {
        /// The column index.
        column: usize,
        /// The strftime format.
        format: String,
    },
    /// `search`: rows that fail the filter are removed.
    Search(Expr),
    /// `where`: rows for which the expression is not true are removed.
    Where(Ev),
    /// `eval`: the column (appended when `column` is the current width) takes the value.
    Eval {
        /// The column written.
        column: usize,
        /// The value.
        expr: Ev,
    },
    /// `table` / `fields`: the new columns are these old ones, in this order.
    Select(Vec<usize>),
    /// `dedup`.
    Dedup {
        /// The columns compared; `None` for a field no row has. A row missing any of them
        /// goes, unless `keepempty`.
        columns: Vec<Option<usize>>,
        /// How many rows each combination keeps.
        count: usize,
        /// Whether rows missing a column are kept.
        keepempty: bool,
        /// Whether only adjacent repeats count.
        consecutive: bool,
    },
    /// `sort`: a stable sort on `(column, descending)` keys, then the first `limit` rows
    /// (0: all).
    Sort {
        /// The keys.
        keys: Vec<(usize, bool)>,
        /// The most rows kept.
        limit: usize,
    },
    /// `head`: the first rows.
    Head(usize),
    /// `fillnull`: empty cells of these columns (appended ones included) take the value.
    Fillnull {
        /// The columns.
        columns: Vec<usize>,
        /// The value.
        value: String,
    },
    /// `regex`: rows whose column matches (or, negated, does not) are kept.
    Regex {
        /// The column; `None` when no row has the field.
        column: Option<usize>,
        /// Whether matching rows are removed instead.
        negate: bool,
        /// The expression.
        re: Regex,
    },
}

/// Lowers the commands after tstats, tracking column names through every step.
pub fn lower_post(
    commands: &[Command],
    mut columns: Vec<String>,
) -> Result<(Vec<PostOp>, Vec<String>), CompileError> {
    let mut post = Vec::new();
    for cmd in commands {
        lower_command(cmd, &mut columns, &mut post)?;
    }
    Ok((post, columns))
}

fn lower_command(
    cmd: &Command,
    columns: &mut Vec<String>,
    post: &mut Vec<PostOp>,
) -> Result<(), CompileError> {
    match cmd {
        Command::Rename(pairs) => {
            for (from, to) in pairs {
                let (names, keep) = rename_columns(columns, from, to)?;
                if let Some(keep) = keep {
                    post.push(PostOp::Select(keep));
                }
                *columns = names;
            }
            post.push(PostOp::Rename { names: columns.clone() });
        }
        Command::Convert { timeformat, calls } => {
            let format = match timeformat {
                Some(f) => checked_time_format(f)?,
                None => "%m/%d/%Y %H:%M:%S".to_string(),
            };
            for call in calls {
                post.extend(lower_ctime(call, columns, &format)?);
            }
        }
        Command::Search(e) => post.push(PostOp::Search(column_expr(e, columns))),
        Command::Where(e) => post.push(lower_where(e, columns)?),
        Command::Eval(assigns) => {
            for (name, e) in assigns {
                post.push(lower_eval(name, e, columns)?);
            }
        }
        Command::Table(fields) => post.push(select(columns, fields, false)),
        Command::Fields { remove, fields } => post.push(select(columns, fields, *remove)),
        Command::Dedup { count, fields, keepempty, consecutive } => {
            // A field that no row has is missing in every row (`None`).
            let columns = fields.iter().map(|f| position(columns, &f.node)).collect();
            let (count, keepempty, consecutive) = (*count, *keepempty, *consecutive);
            post.push(PostOp::Dedup { columns, count, keepempty, consecutive });
        }
        Command::Sort { limit, keys } => post.push(lower_sort(*limit, keys, columns)),
        Command::Head(n) => post.push(PostOp::Head(*n)),
        Command::Fillnull { value, fields } => post.push(lower_fillnull(value, fields, columns)),
        Command::Regex { field, negate, pattern } => {
            let re = evalexpr::compile_regex(&pattern.node, pattern.span)?;
            let column = position(columns, &field.node);
            post.push(PostOp::Regex { column, negate: *negate, re });
        }
    }
    Ok(())
}

fn lower_ctime(
    call: &ast::ConvertCall,
    columns: &[String],
    format: &str,
) -> Result<Option<PostOp>, CompileError> {
    if !call.func.node.eq_ignore_ascii_case("ctime") {
        let kind =
            CompileErrorKind::UnsupportedCommand { name: format!("convert {}", call.func.node) };
        return Err(err(kind, call.func.span));
    }
    if let Some(alias) = &call.alias {
        let kind =
            CompileErrorKind::UnsupportedOption { name: format!("ctime(...) as {}", alias.node) };
        return Err(err(kind, alias.span));
    }
    // A field that is not a column leaves the rows as they are, as in Splunk.
    let column = columns.iter().position(|c| *c == call.field.node);
    Ok(column.map(|column| PostOp::Ctime { column, format: format.to_string() }))
}

/// The strftime conversions the output stage renders exactly as Splunk does.
const TIME_CONVERSIONS: &[u8] = b"YmdHMSyjbBaApIeZz%";

fn checked_time_format(f: &Spanned<String>) -> Result<String, CompileError> {
    let bytes = f.node.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let ok = bytes.get(i + 1).is_some_and(|c| TIME_CONVERSIONS.contains(c));
            if !ok {
                return Err(err(
                    CompileErrorKind::BadTimeFormat { format: f.node.clone() },
                    f.span,
                ));
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    Ok(f.node.clone())
}

/// Applies one `rename FROM as TO` to the column list. `FROM` may hold one `*`, which `TO`
/// repeats.
///
/// A field renamed onto one that exists replaces it, and a rename of a field no row has
/// removes the target, as Splunk's `rename` documents ("renaming a field can cause loss of
/// data"). Returns the new names and, when columns go, the old columns kept (in order).
fn rename_columns(
    columns: &[String],
    from: &Spanned<String>,
    to: &Spanned<String>,
) -> Result<(Vec<String>, Option<Vec<usize>>), CompileError> {
    let (from_s, to_s) = (from.node.as_str(), to.node.as_str());
    let mut out = Vec::with_capacity(columns.len());
    let mut renamed_any = vec![false; columns.len()];
    for (i, c) in columns.iter().enumerate() {
        let renamed = match from_s.split_once('*') {
            Some((pre, suf)) if !suf.contains('*') => c
                .strip_prefix(pre)
                .and_then(|r| r.strip_suffix(suf))
                .map(|mid| to_s.replacen('*', mid, 1)),
            Some(_) => {
                let found = format!("rename {from_s}");
                return Err(err(CompileErrorKind::UnsupportedSyntax { found }, from.span));
            }
            None => (c == from_s).then(|| to_s.to_string()),
        };
        renamed_any[i] = renamed.is_some();
        out.push(renamed.unwrap_or_else(|| c.clone()));
    }
    let mut keep: Vec<usize> = Vec::with_capacity(out.len());
    for i in 0..out.len() {
        let renamed_here = (0..out.len()).filter(|&j| renamed_any[j] && out[j] == out[i]).count();
        if renamed_here > 1 {
            let found = format!("rename of two fields onto {}", out[i]);
            return Err(err(CompileErrorKind::UnsupportedSyntax { found }, to.span));
        }
        // An untouched column whose name a renamed one now takes is replaced.
        if !renamed_any[i] && renamed_here == 1 {
            continue;
        }
        keep.push(i);
    }
    let no_source = !from_s.contains('*') && !columns.iter().any(|c| c == from_s);
    if no_source {
        keep.retain(|&i| columns[i] != to_s);
    }
    if keep.len() == out.len() {
        return Ok((out, None));
    }
    let names = keep.iter().map(|&i| out[i].clone()).collect();
    Ok((names, Some(keep)))
}

/// Lowers a `search` expression over result columns. Unknown fields are never present.
fn column_expr(e: &SearchExpr, columns: &[String]) -> Expr {
    let col = |f: &Spanned<String>| columns.iter().position(|c| *c == f.node);
    match e {
        SearchExpr::And(v) => Expr::And(v.iter().map(|x| column_expr(x, columns)).collect()),
        SearchExpr::Or(v) => Expr::Or(v.iter().map(|x| column_expr(x, columns)).collect()),
        SearchExpr::Not(x) => Expr::Not(Box::new(column_expr(x, columns))),
        SearchExpr::Compare { field, op, value } => match col(field) {
            Some(c) => compare(c, *op, &value.node),
            None => Expr::Missing,
        },
        SearchExpr::In { field, values } => match col(field) {
            Some(c) => in_list(c, values),
            None => Expr::Missing,
        },
        SearchExpr::All(_) => Expr::All,
    }
}

fn position(columns: &[String], name: &str) -> Option<usize> {
    columns.iter().position(|c| c == name)
}

fn lower_where(e: &ast::EvalExpr, columns: &[String]) -> Result<PostOp, CompileError> {
    let ev = evalexpr::lower(e, columns)?;
    if !ev.is_boolean() {
        let found = "where with an expression that is not true or false".to_string();
        return Err(CompileError::bare(CompileErrorKind::UnsupportedSyntax { found }));
    }
    Ok(PostOp::Where(ev))
}

fn lower_eval(
    name: &Spanned<String>,
    e: &ast::EvalExpr,
    columns: &mut Vec<String>,
) -> Result<PostOp, CompileError> {
    let expr = evalexpr::lower(e, columns)?;
    if expr.is_boolean() {
        let found = format!("eval {}= a true/false value (Splunk refuses it; use if())", name.node);
        return Err(err(CompileErrorKind::UnsupportedSyntax { found }, name.span));
    }
    let column = match position(columns, &name.node) {
        Some(i) => i,
        None => {
            columns.push(name.node.clone());
            columns.len() - 1
        }
    };
    Ok(PostOp::Eval { column, expr })
}

/// Whether a field name matches a `table`/`fields` pattern (`*` wildcards, case kept).
fn name_matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if name.len() < first.len() + last.len() || !name.starts_with(first) || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(at) => rest = &rest[at + mid.len()..],
            None => return false,
        }
    }
    true
}

/// `table`/`fields`: the listed columns in list order (each once), or, with `remove`, every
/// column not listed. Fields no row has are not shown.
fn select(columns: &mut Vec<String>, fields: &[Spanned<String>], remove: bool) -> PostOp {
    let mut keep: Vec<usize> = Vec::new();
    if remove {
        keep = (0..columns.len())
            .filter(|&i| !fields.iter().any(|f| name_matches(&f.node, &columns[i])))
            .collect();
    } else {
        for f in fields {
            for (i, c) in columns.iter().enumerate() {
                if name_matches(&f.node, c) && !keep.contains(&i) {
                    keep.push(i);
                }
            }
        }
    }
    *columns = keep.iter().map(|&i| columns[i].clone()).collect();
    PostOp::Select(keep)
}

fn lower_sort(limit: usize, keys: &[(bool, Spanned<String>)], columns: &[String]) -> PostOp {
    // A key no row has orders nothing.
    let keys = keys.iter().filter_map(|(d, f)| position(columns, &f.node).map(|c| (c, *d)));
    PostOp::Sort { keys: keys.collect(), limit }
}

fn lower_fillnull(value: &str, fields: &[Spanned<String>], columns: &mut Vec<String>) -> PostOp {
    let targets: Vec<usize> = if fields.is_empty() {
        (0..columns.len()).collect()
    } else {
        fields
            .iter()
            .map(|f| {
                position(columns, &f.node).unwrap_or_else(|| {
                    columns.push(f.node.clone());
                    columns.len() - 1
                })
            })
            .collect()
    };
    PostOp::Fillnull { columns: targets, value: value.to_string() }
}
