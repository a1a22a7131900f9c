//! Stage 4b: the compiled rule. Lowers the syntax tree into a `Plan` that every later stage
//! reads: the CIM fields needed, the filter over them, the BY list, the aggregates and the
//! post-processing over result rows.
//!
//! Owns what SPL means in this engine. Anything the engine cannot do exactly as Splunk does is
//! refused here with a `CompileError` that names it; nothing is dropped or approximated. It
//! must not depend on runtime stages.

pub mod pattern;

use crate::cim::datamodel;
use crate::spl::ast::{self, CmpOp, Command, SearchExpr, Span, Spanned};
use crate::spl::lexer::{tokenize, Tok};
use crate::spl::{CompileError, CompileErrorKind, Detection, MacroTable};

pub use pattern::Pattern;

/// Index of a CIM field in `Plan::fields`.
pub type FieldId = usize;

/// A filter over fields (CIM fields in tstats, result columns in `search`).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Every branch holds.
    And(Vec<Expr>),
    /// Some branch holds.
    Or(Vec<Expr>),
    /// The inner filter does not hold; true when the field is missing.
    Not(Box<Expr>),
    /// `field=pattern`: some value of the field matches.
    Match {
        /// The field (a `FieldId`, or a column index in post-processing).
        field: usize,
        /// The pattern.
        pattern: Pattern,
    },
    /// `field!=pattern`: the field is present and no value matches.
    NotMatch {
        /// The field.
        field: usize,
        /// The pattern.
        pattern: Pattern,
    },
    /// A field that does not exist in the rows: never present.
    Missing,
    /// Always true (`*`).
    All,
}

/// The aggregate functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggKind {
    /// Number of events.
    Count,
    /// Earliest `_time`.
    MinTime,
    /// Latest `_time`.
    MaxTime,
}

/// One aggregate column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agg {
    /// What it computes.
    pub kind: AggKind,
    /// Its column name before renames.
    pub name: String,
}

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
}

/// One indicator of the rule, as the seed page lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    /// The field as written.
    pub field: String,
    /// `eq`, `ne` or `in`.
    pub op: &'static str,
    /// The values.
    pub values: Vec<String>,
    /// Whether the indicator sits under a NOT.
    pub negated: bool,
}

/// A compiled detection.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The detection's name.
    pub name: String,
    /// Its id.
    pub id: String,
    /// Its version.
    pub version: String,
    /// The search after macro expansion.
    pub search: String,
    /// The text of each pipeline command, in order.
    pub stages: Vec<String>,
    /// The CIM fields the event stage must produce; a `FieldId` indexes this list. The fields
    /// the filter reads come first: `fields[..filter_fields]`.
    pub fields: Vec<&'static str>,
    /// How many of `fields` the filter reads (they are mapped before the filter runs; the rest
    /// only for events that pass).
    pub filter_fields: usize,
    /// The tstats filter, or `None` when every event of the data set passes.
    pub filter: Option<Expr>,
    /// The `fillnull_value`, when given.
    pub fillnull: Option<String>,
    /// The BY fields.
    pub by: Vec<FieldId>,
    /// The aggregates in written order.
    pub aggs: Vec<Agg>,
    /// Column names straight out of tstats (BY fields as written, then aggregates).
    pub columns: Vec<String>,
    /// Post-processing steps.
    pub post: Vec<PostOp>,
    /// Column names after the last step.
    pub final_columns: Vec<String>,
    /// The tstats filter's indicators.
    pub indicators: Vec<Indicator>,
}

impl Plan {
    /// The tstats filter with its grouping made explicit, fields named without the object
    /// prefix: `AND(OR(a=x, b=y), c IN(...))`.
    pub fn describe_filter(&self) -> String {
        match &self.filter {
            Some(e) => describe(e, &|f| self.fields[f].to_string()),
            None => "none: every event of the data set".to_string(),
        }
    }
}

fn describe(e: &Expr, name: &dyn Fn(usize) -> String) -> String {
    let list = |v: &[Expr]| v.iter().map(|x| describe(x, name)).collect::<Vec<_>>().join(", ");
    match e {
        Expr::And(v) => format!("AND({})", list(v)),
        Expr::Or(v) if is_in_list(v) => {
            let field = match &v[0] {
                Expr::Match { field, .. } => name(*field),
                _ => String::new(),
            };
            let values: Vec<String> = v
                .iter()
                .filter_map(|x| match x {
                    Expr::Match { pattern, .. } => Some(pattern.text().to_string()),
                    _ => None,
                })
                .collect();
            format!("{field} IN({})", values.join(", "))
        }
        Expr::Or(v) => format!("OR({})", list(v)),
        Expr::Not(x) => format!("NOT({})", describe(x, name)),
        Expr::Match { field, pattern } => format!("{}={}", name(*field), pattern.text()),
        Expr::NotMatch { field, pattern } => format!("{}!={}", name(*field), pattern.text()),
        Expr::Missing => "false".to_string(),
        Expr::All => "*".to_string(),
    }
}

/// Whether an OR is a list of matches on one field (as `IN` lowers), of three or more.
fn is_in_list(v: &[Expr]) -> bool {
    let field = |x: &Expr| match x {
        Expr::Match { field, .. } => Some(*field),
        _ => None,
    };
    v.len() > 2 && field(&v[0]).is_some() && v.iter().all(|x| field(x) == field(&v[0]))
}

/// Expands and compiles a detection.
pub fn compile(det: &Detection, macros: &MacroTable) -> Result<Plan, CompileError> {
    let filter_name = crate::spl::macros::filter_macro_name(&det.name);
    let search = macros.expand(&det.search, &filter_name)?;
    let tree = crate::spl::parser::parse_search(&search)?;
    let mut plan = Lowering::new(&search).lower(&tree).map_err(|e| e.in_search(&search))?;
    plan.name = det.name.clone();
    plan.id = det.id.clone().unwrap_or_default();
    plan.version = det.version_text();
    plan.stages = stage_texts(&search);
    Ok(plan)
}

/// The text of each top-level pipeline command.
fn stage_texts(search: &str) -> Vec<String> {
    let Ok(tokens) = tokenize(search) else { return Vec::new() };
    let mut stages = Vec::new();
    let mut start: Option<usize> = None;
    let mut end = 0;
    for t in &tokens {
        if t.tok == Tok::Pipe {
            if let Some(s) = start.take() {
                stages.push(search[s..end].to_string());
            }
            continue;
        }
        start.get_or_insert(t.span.start);
        end = t.span.end;
    }
    if let Some(s) = start {
        stages.push(search[s..end].to_string());
    }
    stages
}

struct Lowering<'s> {
    search: &'s str,
    fields: Vec<&'static str>,
}

fn err(kind: CompileErrorKind, span: Span) -> CompileError {
    CompileError { kind, span: Some(span), search: String::new() }
}

impl<'s> Lowering<'s> {
    fn new(search: &'s str) -> Lowering<'s> {
        Lowering { search, fields: Vec::new() }
    }

    fn lower(mut self, tree: &ast::Pipeline) -> Result<Plan, CompileError> {
        let t = &tree.tstats;
        let fillnull = self.options(&t.options)?;
        if t.datamodel.node != datamodel::DATASET {
            let kind = CompileErrorKind::UnsupportedDatamodel { name: t.datamodel.node.clone() };
            return Err(err(kind, t.datamodel.span));
        }
        let aggs = t.aggregates.iter().map(lower_agg).collect::<Result<Vec<_>, _>>()?;
        let mut indicators = Vec::new();
        if let Some(f) = &t.filter {
            collect_indicators(f, false, &mut indicators);
        }
        let filter = t.filter.as_ref().map(|f| self.tstats_expr(f)).transpose()?;
        let filter = filter.filter(|f| *f != Expr::All);
        let filter_fields = self.fields.len();
        let by = t.by.iter().map(|b| self.cim_field(b)).collect::<Result<Vec<_>, _>>()?;
        let mut columns: Vec<String> = t.by.iter().map(|b| b.node.clone()).collect();
        columns.extend(aggs.iter().map(|a| a.name.clone()));
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = columns.iter().find(|c| !seen.insert(c.as_str())) {
            let found = format!("the output column {dup} twice");
            return Err(err(CompileErrorKind::UnsupportedSyntax { found }, t.span));
        }
        let (post, final_columns) = lower_post(&tree.commands, columns.clone())?;
        Ok(Plan {
            name: String::new(),
            id: String::new(),
            version: String::new(),
            search: self.search.to_string(),
            stages: Vec::new(),
            fields: self.fields,
            filter_fields,
            filter,
            fillnull,
            by,
            aggs,
            columns,
            post,
            final_columns,
            indicators,
        })
    }

    fn options(
        &self,
        options: &[(Spanned<String>, Spanned<String>)],
    ) -> Result<Option<String>, CompileError> {
        let mut fillnull = None;
        for (key, value) in options {
            match key.node.as_str() {
                "summariesonly" => {
                    if parse_bool(&value.node) != Some(false) {
                        let kind = CompileErrorKind::UnsupportedOptionValue {
                            name: key.node.clone(),
                            value: value.node.clone(),
                        };
                        return Err(err(kind, key.span.to(value.span)));
                    }
                }
                "allow_old_summaries" => {
                    if parse_bool(&value.node).is_none() {
                        let kind = CompileErrorKind::UnsupportedOptionValue {
                            name: key.node.clone(),
                            value: value.node.clone(),
                        };
                        return Err(err(kind, value.span));
                    }
                }
                "fillnull_value" => fillnull = Some(value.node.clone()),
                _ => {
                    let kind = CompileErrorKind::UnsupportedOption { name: key.node.clone() };
                    return Err(err(kind, key.span));
                }
            }
        }
        Ok(fillnull)
    }

    /// Resolves `Processes.x` to a field id, adding it to the needed set.
    fn cim_field(&mut self, name: &Spanned<String>) -> Result<FieldId, CompileError> {
        let bare = name
            .node
            .strip_prefix(datamodel::OBJECT)
            .and_then(|r| r.strip_prefix('.'))
            .filter(|f| datamodel::is_field(f));
        let Some(bare) = bare else {
            let kind = CompileErrorKind::UnknownField { name: name.node.clone() };
            return Err(err(kind, name.span));
        };
        let stat = datamodel::FIELDS.iter().copied().find(|f| *f == bare).unwrap_or("");
        if let Some(i) = self.fields.iter().position(|f| *f == stat) {
            return Ok(i);
        }
        self.fields.push(stat);
        Ok(self.fields.len() - 1)
    }

    fn tstats_expr(&mut self, e: &SearchExpr) -> Result<Expr, CompileError> {
        Ok(match e {
            SearchExpr::And(v) => {
                Expr::And(v.iter().map(|x| self.tstats_expr(x)).collect::<Result<_, _>>()?)
            }
            SearchExpr::Or(v) => {
                Expr::Or(v.iter().map(|x| self.tstats_expr(x)).collect::<Result<_, _>>()?)
            }
            SearchExpr::Not(x) => Expr::Not(Box::new(self.tstats_expr(x)?)),
            SearchExpr::Compare { field, op, value } => {
                let field = self.cim_field(field)?;
                compare(field, *op, &value.node)
            }
            SearchExpr::In { field, values } => {
                let field = self.cim_field(field)?;
                in_list(field, values)
            }
            SearchExpr::All(_) => Expr::All,
        })
    }
}

fn compare(field: usize, op: CmpOp, value: &str) -> Expr {
    let pattern = Pattern::new(value);
    match op {
        CmpOp::Eq => Expr::Match { field, pattern },
        CmpOp::Ne => Expr::NotMatch { field, pattern },
    }
}

fn in_list(field: usize, values: &[Spanned<String>]) -> Expr {
    let branches = values.iter().map(|v| Expr::Match { field, pattern: Pattern::new(&v.node) });
    Expr::Or(branches.collect())
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "t" | "1" | "yes" => Some(true),
        "false" | "f" | "0" | "no" => Some(false),
        _ => None,
    }
}

fn lower_agg(a: &ast::Aggregate) -> Result<Agg, CompileError> {
    let func = a.func.node.to_ascii_lowercase();
    let arg = a.arg.as_ref().map(|x| x.node.as_str());
    let kind = match (func.as_str(), arg) {
        ("count", None) => AggKind::Count,
        ("min", Some("_time")) => AggKind::MinTime,
        ("max", Some("_time")) => AggKind::MaxTime,
        _ => {
            let name = match arg {
                Some(x) => format!("{}({x})", a.func.node),
                None => a.func.node.clone(),
            };
            let span = a.arg.as_ref().map_or(a.func.span, |x| a.func.span.to(x.span));
            return Err(err(CompileErrorKind::UnsupportedAggregate { name }, span));
        }
    };
    let name = match (&a.alias, arg) {
        (Some(alias), _) => alias.node.clone(),
        (None, Some(x)) => format!("{}({x})", a.func.node),
        (None, None) => a.func.node.clone(),
    };
    Ok(Agg { kind, name })
}

fn collect_indicators(e: &SearchExpr, negated: bool, out: &mut Vec<Indicator>) {
    match e {
        SearchExpr::And(v) | SearchExpr::Or(v) => {
            v.iter().for_each(|x| collect_indicators(x, negated, out));
        }
        SearchExpr::Not(x) => collect_indicators(x, !negated, out),
        SearchExpr::Compare { field, op, value } => out.push(Indicator {
            field: field.node.clone(),
            op: if *op == CmpOp::Eq { "eq" } else { "ne" },
            values: vec![value.node.clone()],
            negated,
        }),
        SearchExpr::In { field, values } => out.push(Indicator {
            field: field.node.clone(),
            op: "in",
            values: values.iter().map(|v| v.node.clone()).collect(),
            negated,
        }),
        SearchExpr::All(_) => {}
    }
}

/// Lowers the commands after tstats, tracking column names through renames.
fn lower_post(
    commands: &[Command],
    mut columns: Vec<String>,
) -> Result<(Vec<PostOp>, Vec<String>), CompileError> {
    let mut post = Vec::new();
    for cmd in commands {
        match cmd {
            Command::Rename(pairs) => {
                for (from, to) in pairs {
                    columns = rename_columns(&columns, from, to)?;
                }
                post.push(PostOp::Rename { names: columns.clone() });
            }
            Command::Convert { timeformat, calls } => {
                let format = match timeformat {
                    Some(f) => checked_time_format(f)?,
                    None => "%m/%d/%Y %H:%M:%S".to_string(),
                };
                for call in calls {
                    post.extend(lower_ctime(call, &columns, &format)?);
                }
            }
            Command::Search(e) => post.push(PostOp::Search(column_expr(e, &columns))),
        }
    }
    Ok((post, columns))
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
fn rename_columns(
    columns: &[String],
    from: &Spanned<String>,
    to: &Spanned<String>,
) -> Result<Vec<String>, CompileError> {
    let (from_s, to_s) = (from.node.as_str(), to.node.as_str());
    let mut out = Vec::with_capacity(columns.len());
    for c in columns {
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
        out.push(renamed.unwrap_or_else(|| c.clone()));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = out.iter().find(|c| !seen.insert(c.as_str())) {
        let found = format!("rename onto the existing field {dup}");
        return Err(err(CompileErrorKind::UnsupportedSyntax { found }, to.span));
    }
    Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn compile_search(search: &str) -> Result<Plan, CompileError> {
        let det = Detection::inline("Test Rule", search);
        compile(&det, &MacroTable::with_defaults())
    }

    #[test]
    fn default_rule_compiles_to_twenty_by_fields() {
        let plan = compile(&Detection::default_rule(), &MacroTable::with_defaults()).unwrap();
        assert_eq!(plan.by.len(), 20);
        assert_eq!(plan.fillnull.as_deref(), Some("null"));
        assert_eq!(plan.final_columns[0], "action");
        assert_eq!(plan.final_columns[20..], ["count", "firstTime", "lastTime"]);
        assert_eq!(plan.stages.len(), 5);
        assert_eq!(plan.post.len(), 4);
    }

    #[test]
    fn summariesonly_true_is_refused() {
        let e =
            compile_search("| tstats summariesonly=true count from datamodel=Endpoint.Processes");
        assert!(matches!(e.unwrap_err().kind, CompileErrorKind::UnsupportedOptionValue { .. }));
    }

    #[test]
    fn other_datamodels_and_aggregates_are_refused() {
        let e = compile_search("| tstats count from datamodel=Endpoint.Registry");
        assert!(matches!(e.unwrap_err().kind, CompileErrorKind::UnsupportedDatamodel { .. }));
        let e = compile_search("| tstats dc(Processes.dest) from datamodel=Endpoint.Processes");
        let kind = e.unwrap_err().kind;
        assert_eq!(
            kind,
            CompileErrorKind::UnsupportedAggregate { name: "dc(Processes.dest)".into() }
        );
    }

    #[test]
    fn duplicate_columns_are_refused() {
        for search in [
            "| tstats count as Processes.dest from datamodel=Endpoint.Processes by Processes.dest",
            "| tstats count count from datamodel=Endpoint.Processes",
            "| tstats count from datamodel=Endpoint.Processes by Processes.dest Processes.dest",
        ] {
            let e = compile_search(search).unwrap_err();
            assert!(matches!(e.kind, CompileErrorKind::UnsupportedSyntax { .. }), "{search}");
        }
    }

    #[test]
    fn unknown_fields_are_refused() {
        let e = compile_search(
            "| tstats count from datamodel=Endpoint.Processes where Processes.nope=1",
        );
        assert!(matches!(e.unwrap_err().kind, CompileErrorKind::UnknownField { .. }));
    }

    #[test]
    fn rename_with_wildcard_strips_the_prefix() {
        let p = compile_search(
            "| tstats count from datamodel=Endpoint.Processes by Processes.dest \
             | rename \"Processes.*\" as * | convert ctime(count)",
        )
        .unwrap();
        assert_eq!(p.final_columns, ["dest", "count"]);
        assert_eq!(p.post[1], PostOp::Ctime { column: 1, format: "%m/%d/%Y %H:%M:%S".into() });
    }

    #[test]
    fn unsupported_time_conversions_are_refused() {
        let e = compile_search(
            "| tstats count from datamodel=Endpoint.Processes \
             | convert timeformat=\"%Q\" ctime(count)",
        );
        assert!(matches!(e.unwrap_err().kind, CompileErrorKind::BadTimeFormat { .. }));
    }
}
