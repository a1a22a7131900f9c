//! Syntax tree of the SPL subset, as written after macro expansion.
//!
//! Owns the shapes the parser produces and the byte spans that point back into the expanded
//! search text. It holds no runtime types and makes no semantic decisions: deciding what a
//! field means, or whether a construct is supported, belongs to `plan`.

/// A half-open byte range `[start, end)` in the expanded search text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// First byte of the construct.
    pub start: usize,
    /// One past its last byte.
    pub end: usize,
}

impl Span {
    /// Builds a span from its two ends.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span that covers both.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// A name or value together with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    /// The value itself.
    pub node: T,
    /// Where it stands in the expanded search.
    pub span: Span,
}

/// A whole search: the generating `tstats` followed by its pipeline commands.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// The first command, which produces the rows.
    pub tstats: Tstats,
    /// The commands after it, in order.
    pub commands: Vec<Command>,
}

/// `| tstats OPTIONS AGGREGATES FROM datamodel=X [WHERE expr] [BY fields]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tstats {
    /// `key=value` options in written order.
    pub options: Vec<(Spanned<String>, Spanned<String>)>,
    /// Aggregates in written order.
    pub aggregates: Vec<Aggregate>,
    /// The data set named after `datamodel=`.
    pub datamodel: Spanned<String>,
    /// The filter; `None` when there is no `WHERE`.
    pub filter: Option<SearchExpr>,
    /// The BY fields in written order.
    pub by: Vec<Spanned<String>>,
    /// The `span=` option of the BY list (`by _time span=1h`), when given.
    pub span: Option<Spanned<String>>,
    /// Where the whole command stands.
    pub span_all: Span,
}

/// One aggregate call such as `min(_time) as firstTime`.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// The function name as written (`count`, `min`, ...).
    pub func: Spanned<String>,
    /// The argument, when the call has parentheses.
    pub arg: Option<Spanned<String>>,
    /// The `as` name, when given.
    pub alias: Option<Spanned<String>>,
}

/// A pipeline command after `tstats`.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `rename A as B, ...`.
    Rename(Vec<(Spanned<String>, Spanned<String>)>),
    /// `convert [timeformat=F] ctime(f) [as g] ...`.
    Convert {
        /// The `timeformat=` value, when given.
        timeformat: Option<Spanned<String>>,
        /// Each `ctime(field) [as alias]` call.
        calls: Vec<ConvertCall>,
    },
    /// `search EXPR`.
    Search(SearchExpr),
    /// `where EXPR` (eval language).
    Where(EvalExpr),
    /// `eval f=EXPR, g=EXPR`.
    Eval(Vec<(Spanned<String>, EvalExpr)>),
    /// `table f...` (wildcards allowed).
    Table(Vec<Spanned<String>>),
    /// `fields [+|-] f...`.
    Fields {
        /// `fields - ...`: the listed fields are removed instead of kept.
        remove: bool,
        /// The field names or wildcard patterns.
        fields: Vec<Spanned<String>>,
    },
    /// `dedup [N] f... [keepempty=B] [consecutive=B]`.
    Dedup {
        /// How many rows each combination keeps.
        count: usize,
        /// The fields.
        fields: Vec<Spanned<String>>,
        /// Whether rows missing a field are kept.
        keepempty: bool,
        /// Whether only consecutive repeats are removed.
        consecutive: bool,
    },
    /// `sort [N] [+|-]f ...`.
    Sort {
        /// The most rows kept (Splunk's default is 10,000; 0 means all).
        limit: usize,
        /// `(descending, field)` in priority order.
        keys: Vec<(bool, Spanned<String>)>,
    },
    /// `head [N]`.
    Head(usize),
    /// `fillnull [value=X] [f...]`.
    Fillnull {
        /// The fill value.
        value: String,
        /// The fields; empty means every column.
        fields: Vec<Spanned<String>>,
    },
    /// `regex f="re"` or `regex f!="re"`.
    Regex {
        /// The field.
        field: Spanned<String>,
        /// Whether rows that match are removed instead of kept.
        negate: bool,
        /// The regular expression.
        pattern: Spanned<String>,
    },
}

/// An expression of the eval language (`where`, `eval`).
#[derive(Debug, Clone, PartialEq)]
pub enum EvalExpr {
    /// A field reference (bare word or single-quoted).
    Field(Spanned<String>),
    /// A double-quoted string.
    Str(String),
    /// A number literal.
    Num(f64),
    /// A function call; the name is as written.
    Call {
        /// The function name.
        name: Spanned<String>,
        /// The arguments.
        args: Vec<EvalExpr>,
    },
    /// `NOT x`.
    Not(Box<EvalExpr>),
    /// `-x`.
    Neg(Box<EvalExpr>),
    /// A binary operation.
    Binary {
        /// The operator.
        op: BinOp,
        /// Left operand.
        lhs: Box<EvalExpr>,
        /// Right operand.
        rhs: Box<EvalExpr>,
    },
    /// `x IN (a, b, ...)`.
    In {
        /// The tested value.
        expr: Box<EvalExpr>,
        /// The listed values.
        list: Vec<EvalExpr>,
    },
}

/// Binary operators of the eval language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `OR`
    Or,
    /// `XOR`
    Xor,
    /// `AND`
    And,
    /// `=` or `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `LIKE`
    Like,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `.` (string concatenation)
    Concat,
}

/// One conversion function inside `convert`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvertCall {
    /// The function name (`ctime`).
    pub func: Spanned<String>,
    /// The field it reads.
    pub field: Spanned<String>,
    /// The field it writes, when `as` is given.
    pub alias: Option<Spanned<String>>,
}

/// Comparison operators of the search language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The operator as written.
    pub fn text(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// A search-language expression, with Splunk's precedence already applied.
#[derive(Debug, Clone, PartialEq)]
pub enum SearchExpr {
    /// All of these hold (explicit `AND` or juxtaposition).
    And(Vec<SearchExpr>),
    /// Any of these holds.
    Or(Vec<SearchExpr>),
    /// The inner expression does not hold.
    Not(Box<SearchExpr>),
    /// `field OP value`.
    Compare {
        /// Field name as written.
        field: Spanned<String>,
        /// The operator.
        op: CmpOp,
        /// The value with quotes and escapes removed; `*` stays a wildcard.
        value: Spanned<String>,
    },
    /// `field IN (v1, v2, ...)`.
    In {
        /// Field name as written.
        field: Spanned<String>,
        /// The listed values.
        values: Vec<Spanned<String>>,
    },
    /// A bare `*`: every event or row.
    All(Span),
}
