//! Stage 4b: the compiled rule. Lowers the syntax tree into a `Plan` that every later stage
//! reads: the CIM fields needed, the filter over them, the BY list, the aggregates and the
//! post-processing over result rows.
//!
//! Owns what SPL means in this engine. Anything the engine cannot do exactly as Splunk does is
//! refused here with a `CompileError` that names it; nothing is dropped or approximated. It
//! must not depend on runtime stages.

pub mod evalexpr;
pub mod pattern;
pub mod post;

use crate::cim::datamodel;
use crate::spl::ast::{self, CmpOp, SearchExpr, Span, Spanned};
use crate::spl::lexer::{tokenize, Tok};
use crate::spl::parser::parse_bool;
use crate::spl::{CompileError, CompileErrorKind, Detection, MacroTable};

pub use pattern::Pattern;
pub use post::PostOp;

/// Index of a CIM field in `Plan::fields`.
pub type FieldId = usize;

/// `by _time span=N`: the position of `_time` among the BY columns, and the span in seconds.
pub type TimeBucket = (usize, i64);

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
    /// `field<value` and the like: some value compares so, numerically when both sides are
    /// numbers, else byte-wise.
    Compare {
        /// The field.
        field: usize,
        /// The operator (never `Eq`/`Ne`, which are patterns).
        op: CmpOp,
        /// The value as written.
        value: String,
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
    /// The distinct values of a field, sorted.
    Values(FieldId),
    /// The number of distinct values of a field.
    Dc(FieldId),
    /// The field's value in the latest event.
    Latest(FieldId),
    /// The field's value in the earliest event.
    Earliest(FieldId),
}

impl AggKind {
    /// The field whose values the aggregate keeps, if any.
    pub fn field(self) -> Option<FieldId> {
        match self {
            AggKind::Values(f) | AggKind::Dc(f) | AggKind::Latest(f) | AggKind::Earliest(f) => {
                Some(f)
            }
            _ => None,
        }
    }
}

/// One aggregate column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agg {
    /// What it computes.
    pub kind: AggKind,
    /// Its column name before renames.
    pub name: String,
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
    /// The data set after `datamodel=` (`Endpoint.Processes`...).
    pub dataset: &'static str,
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
    /// The BY fields (`_time` aside).
    pub by: Vec<FieldId>,
    /// `by _time span=N`: where `_time` stands among the BY columns, and the span in
    /// seconds.
    pub time_bucket: Option<TimeBucket>,
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
    /// Re-addresses the plan's fields into `union` (which must hold every field of the plan):
    /// rules of one set then read one mapped event. `filter_fields` becomes `union_filter`,
    /// the number of leading union fields that some rule's filter reads.
    pub fn remap_fields(&mut self, union: &[&'static str], union_filter: usize) {
        let ids: Vec<FieldId> = self
            .fields
            .iter()
            .map(|f| union.iter().position(|u| u == f).expect("the union holds every field"))
            .collect();
        if let Some(e) = &mut self.filter {
            remap_expr(e, &ids);
        }
        for b in self.by.iter_mut() {
            *b = ids[*b];
        }
        for a in self.aggs.iter_mut() {
            a.kind = match a.kind {
                AggKind::Values(f) => AggKind::Values(ids[f]),
                AggKind::Dc(f) => AggKind::Dc(ids[f]),
                AggKind::Latest(f) => AggKind::Latest(ids[f]),
                AggKind::Earliest(f) => AggKind::Earliest(ids[f]),
                other => other,
            };
        }
        self.fields = union.to_vec();
        self.filter_fields = union_filter;
    }

    /// The fields the filter reads (`fields[..filter_fields]`).
    pub fn filter_field_names(&self) -> &[&'static str] {
        &self.fields[..self.filter_fields]
    }

    /// The tstats filter with its grouping made explicit, fields named without the object
    /// prefix: `AND(OR(a=x, b=y), c IN(...))`.
    pub fn describe_filter(&self) -> String {
        match &self.filter {
            Some(e) => describe(e, &|f| self.fields[f].to_string()),
            None => "none: every event of the data set".to_string(),
        }
    }
}

fn remap_expr(e: &mut Expr, ids: &[FieldId]) {
    match e {
        Expr::And(v) | Expr::Or(v) => v.iter_mut().for_each(|x| remap_expr(x, ids)),
        Expr::Not(x) => remap_expr(x, ids),
        Expr::Match { field, .. } | Expr::NotMatch { field, .. } | Expr::Compare { field, .. } => {
            *field = ids[*field]
        }
        Expr::Missing | Expr::All => {}
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
        Expr::Compare { field, op, value } => format!("{}{}{value}", name(*field), op.text()),
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
    dataset: &'static datamodel::DataSet,
}

pub(crate) fn err(kind: CompileErrorKind, span: Span) -> CompileError {
    CompileError { kind, span: Some(span), search: String::new() }
}

impl<'s> Lowering<'s> {
    fn new(search: &'s str) -> Lowering<'s> {
        Lowering { search, fields: Vec::new(), dataset: &datamodel::PROCESSES }
    }

    fn lower(mut self, tree: &ast::Pipeline) -> Result<Plan, CompileError> {
        let t = &tree.tstats;
        let fillnull = self.options(&t.options)?;
        let Some(dataset) = datamodel::by_name(&t.datamodel.node) else {
            let kind = CompileErrorKind::UnsupportedDatamodel { name: t.datamodel.node.clone() };
            return Err(err(kind, t.datamodel.span));
        };
        self.dataset = dataset;
        let mut indicators = Vec::new();
        if let Some(f) = &t.filter {
            collect_indicators(f, false, &mut indicators);
        }
        let filter = t.filter.as_ref().map(|f| self.tstats_expr(f)).transpose()?;
        let filter = filter.filter(|f| *f != Expr::All);
        let filter_fields = self.fields.len();
        let (by, time_bucket) = self.by_list(t)?;
        let aggs = t.aggregates.iter().map(|a| self.agg(a)).collect::<Result<Vec<_>, _>>()?;
        let mut columns: Vec<String> = t.by.iter().map(|b| b.node.clone()).collect();
        columns.extend(aggs.iter().map(|a| a.name.clone()));
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = columns.iter().find(|c| !seen.insert(c.as_str())) {
            let found = format!("the output column {dup} twice");
            return Err(err(CompileErrorKind::UnsupportedSyntax { found }, t.span_all));
        }
        let (post, final_columns) = post::lower_post(&tree.commands, columns.clone())?;
        Ok(Plan {
            name: String::new(),
            id: String::new(),
            version: String::new(),
            search: self.search.to_string(),
            dataset: self.dataset.name,
            stages: Vec::new(),
            fields: self.fields,
            filter_fields,
            filter,
            fillnull,
            by,
            time_bucket,
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
        let ds = self.dataset;
        let bare = name
            .node
            .strip_prefix(ds.object)
            .and_then(|r| r.strip_prefix('.'))
            .filter(|f| ds.is_field(f));
        let Some(bare) = bare else {
            let kind = CompileErrorKind::UnknownField { name: name.node.clone() };
            return Err(err(kind, name.span));
        };
        let stat = ds.fields.iter().copied().find(|f| *f == bare).unwrap_or("");
        if let Some(i) = self.fields.iter().position(|f| *f == stat) {
            return Ok(i);
        }
        self.fields.push(stat);
        Ok(self.fields.len() - 1)
    }

    /// The BY fields, with `_time` (which needs `span=`) taken out as a bucket.
    fn by_list(
        &mut self,
        t: &ast::Tstats,
    ) -> Result<(Vec<FieldId>, Option<TimeBucket>), CompileError> {
        let mut by = Vec::new();
        let mut bucket = None;
        for (i, b) in t.by.iter().enumerate() {
            if b.node != "_time" {
                by.push(self.cim_field(b)?);
                continue;
            }
            let Some(span) = &t.span else {
                let found = "by _time without span= (tstats picks a span from the time range)";
                let kind = CompileErrorKind::UnsupportedSyntax { found: found.to_string() };
                return Err(err(kind, b.span));
            };
            if bucket.is_some() {
                let found = "_time twice in the BY list".to_string();
                return Err(err(CompileErrorKind::UnsupportedSyntax { found }, b.span));
            }
            bucket = Some((i, span_seconds(span)?));
        }
        if let (Some(span), None) = (&t.span, bucket) {
            let kind = CompileErrorKind::UnsupportedOption { name: "span= without _time".into() };
            return Err(err(kind, span.span));
        }
        Ok((by, bucket))
    }

    fn agg(&mut self, a: &ast::Aggregate) -> Result<Agg, CompileError> {
        let func = a.func.node.to_ascii_lowercase();
        let arg = a.arg.as_ref();
        let field_kind = match func.as_str() {
            "values" => Some(AggKind::Values as fn(FieldId) -> AggKind),
            "dc" | "distinct_count" => Some(AggKind::Dc as fn(FieldId) -> AggKind),
            "latest" => Some(AggKind::Latest as fn(FieldId) -> AggKind),
            "earliest" => Some(AggKind::Earliest as fn(FieldId) -> AggKind),
            _ => None,
        };
        let kind = match (func.as_str(), arg.map(|x| x.node.as_str()), field_kind) {
            ("count", None, _) => AggKind::Count,
            ("min", Some("_time"), _) => AggKind::MinTime,
            ("max", Some("_time"), _) => AggKind::MaxTime,
            (_, Some(f), Some(make)) if f != "_time" => make(self.cim_field(arg.expect("some"))?),
            _ => return Err(unsupported_agg(a)),
        };
        let name = match (&a.alias, arg) {
            (Some(alias), _) => alias.node.clone(),
            (None, Some(x)) => format!("{}({})", a.func.node, x.node),
            (None, None) => a.func.node.clone(),
        };
        Ok(Agg { kind, name })
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

pub(crate) fn compare(field: usize, op: CmpOp, value: &str) -> Expr {
    match op {
        CmpOp::Eq => Expr::Match { field, pattern: Pattern::new(value) },
        CmpOp::Ne => Expr::NotMatch { field, pattern: Pattern::new(value) },
        op => Expr::Compare { field, op, value: value.to_string() },
    }
}

/// `span=` as seconds: a number and a unit (`s`, `m`, `h`, `d`, or their longer names).
fn span_seconds(span: &Spanned<String>) -> Result<i64, CompileError> {
    let v = span.node.trim();
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    let n: i64 = v[..digits].parse().unwrap_or(0);
    let unit = match v[digits..].to_ascii_lowercase().as_str() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3_600,
        "d" | "day" | "days" => 86_400,
        _ => 0,
    };
    match n.checked_mul(unit) {
        Some(secs) if secs > 0 => Ok(secs),
        _ => {
            let kind =
                CompileErrorKind::UnsupportedOptionValue { name: "span".into(), value: v.into() };
            Err(err(kind, span.span))
        }
    }
}

fn unsupported_agg(a: &ast::Aggregate) -> CompileError {
    let name = match &a.arg {
        Some(x) => format!("{}({})", a.func.node, x.node),
        None => a.func.node.clone(),
    };
    let span = a.arg.as_ref().map_or(a.func.span, |x| a.func.span.to(x.span));
    err(CompileErrorKind::UnsupportedAggregate { name }, span)
}

pub(crate) fn in_list(field: usize, values: &[Spanned<String>]) -> Expr {
    let branches = values.iter().map(|v| Expr::Match { field, pattern: Pattern::new(&v.node) });
    Expr::Or(branches.collect())
}

fn collect_indicators(e: &SearchExpr, negated: bool, out: &mut Vec<Indicator>) {
    match e {
        SearchExpr::And(v) | SearchExpr::Or(v) => {
            v.iter().for_each(|x| collect_indicators(x, negated, out));
        }
        SearchExpr::Not(x) => collect_indicators(x, !negated, out),
        SearchExpr::Compare { field, op, value } => out.push(Indicator {
            field: field.node.clone(),
            op: match op {
                CmpOp::Eq => "eq",
                CmpOp::Ne => "ne",
                CmpOp::Lt => "lt",
                CmpOp::Le => "le",
                CmpOp::Gt => "gt",
                CmpOp::Ge => "ge",
            },
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
        let e = compile_search("| tstats count from datamodel=Web.Web");
        assert!(matches!(e.unwrap_err().kind, CompileErrorKind::UnsupportedDatamodel { .. }));
        let e = compile_search("| tstats sum(Processes.dest) from datamodel=Endpoint.Processes");
        let kind = e.unwrap_err().kind;
        assert_eq!(
            kind,
            CompileErrorKind::UnsupportedAggregate { name: "sum(Processes.dest)".into() }
        );
    }

    #[test]
    fn registry_and_filesystem_rules_use_their_own_object_and_fields() {
        let p = compile_search(
            "| tstats count from datamodel=Endpoint.Registry \
             where Registry.registry_value_name=Debugger by Registry.dest Registry.registry_path",
        )
        .unwrap();
        assert_eq!(p.dataset, "Endpoint.Registry");
        assert_eq!(p.fields, ["registry_value_name", "dest", "registry_path"]);
        let p = compile_search(
            "| tstats count from datamodel=Endpoint.Filesystem by Filesystem.file_name",
        )
        .unwrap();
        assert_eq!(p.dataset, "Endpoint.Filesystem");
        for bad in [
            "| tstats count from datamodel=Endpoint.Registry by Processes.dest",
            "| tstats count from datamodel=Endpoint.Registry by Registry.process_name",
            "| tstats count from datamodel=Endpoint.Filesystem by Filesystem.registry_path",
        ] {
            let e = compile_search(bad).unwrap_err();
            assert!(matches!(e.kind, CompileErrorKind::UnknownField { .. }), "{bad}");
        }
    }

    #[test]
    fn field_aggregates_and_time_buckets_lower() {
        let p = compile_search(
            "| tstats values(Processes.process) as p dc(Processes.user) \
             latest(Processes.dest) from datamodel=Endpoint.Processes \
             by Processes.dest _time span=2h",
        )
        .unwrap();
        assert_eq!(p.fields, ["dest", "process", "user"]);
        let kinds: Vec<AggKind> = p.aggs.iter().map(|a| a.kind).collect();
        assert_eq!(kinds, [AggKind::Values(1), AggKind::Dc(2), AggKind::Latest(0)]);
        assert_eq!(p.time_bucket, Some((1, 7200)));
        assert_eq!(
            p.columns,
            ["Processes.dest", "_time", "p", "dc(Processes.user)", "latest(Processes.dest)"]
        );
        for bad in ["by _time", "by Processes.dest span=1h", "by _time span=0h", "by _time span=1w"]
        {
            let search = format!("| tstats count from datamodel=Endpoint.Processes {bad}");
            assert!(compile_search(&search).is_err(), "{bad}");
        }
    }

    #[test]
    fn post_commands_track_columns() {
        let p = compile_search(
            "| tstats count from datamodel=Endpoint.Processes by Processes.dest \
             | rename Processes.* as * | eval n=count*2, dest=upper(dest) \
             | table n dest nothere | fillnull value=x extra",
        )
        .unwrap();
        assert_eq!(p.final_columns, ["n", "dest", "extra"]);
        assert!(matches!(p.post[1], PostOp::Eval { column: 2, .. }));
        assert!(matches!(p.post[2], PostOp::Eval { column: 0, .. }));
        assert_eq!(p.post[3], PostOp::Select(vec![2, 0]));
        let bad = "| tstats count from datamodel=Endpoint.Processes | eval b=count>1";
        assert!(compile_search(bad).is_err(), "eval of a boolean is refused");
        let bad = "| tstats count from datamodel=Endpoint.Processes | where count";
        assert!(compile_search(bad).is_err(), "a non-boolean where is refused");
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
