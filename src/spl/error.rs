//! The one error type of rule compilation: reading the detection, expanding macros, parsing
//! SPL and lowering it into a plan.
//!
//! A `CompileError` names what was refused and, where it can, points at the place in the
//! expanded search text. It never carries a free-form message: the kind says what happened.

use std::fmt;

use super::ast::Span;

/// What went wrong while compiling a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompileErrorKind {
    /// The rule file could not be read.
    ReadRule {
        /// The path given.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// The rule YAML is not a detection (no `search`, or not YAML at all).
    BadRuleYaml {
        /// The YAML parser's reason.
        reason: String,
    },
    /// A macro file could not be read or parsed.
    BadMacroFile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A backtick macro that no file defines.
    UnknownMacro {
        /// Its name and arity, as `name` or `name(N)`.
        name: String,
    },
    /// Macro expansion went deeper than the limit (a macro that uses itself).
    MacroRecursion {
        /// The macro being expanded when the limit was hit.
        name: String,
    },
    /// Expansion grew past the size limit (a macro that multiplies itself).
    MacroTooLarge {
        /// The macro whose expansion crossed the limit.
        name: String,
    },
    /// A backtick with no closing partner.
    UnclosedMacro,
    /// A ```comment``` without its closing three backticks.
    UnclosedComment,
    /// The search does not start with `| tstats`.
    NotTstats,
    /// A pipeline command this engine does not implement.
    UnsupportedCommand {
        /// The command name.
        name: String,
    },
    /// An aggregate function this engine does not implement.
    UnsupportedAggregate {
        /// The aggregate as written.
        name: String,
    },
    /// A data model or data set other than `Endpoint.Processes`.
    UnsupportedDatamodel {
        /// The name after `datamodel=`.
        name: String,
    },
    /// A `tstats` or `convert` option this engine does not implement.
    UnsupportedOption {
        /// The option name.
        name: String,
    },
    /// An option value this engine cannot honour (`summariesonly=true`).
    UnsupportedOptionValue {
        /// The option name.
        name: String,
        /// The value.
        value: String,
    },
    /// `and`, `or`, `not` or `in` in lower case: a search term in Splunk, not an operator.
    LowerCaseOperator {
        /// The word as written.
        found: String,
    },
    /// A search-language construct outside the subset (free text, `<`, `>`...).
    UnsupportedSyntax {
        /// What was found.
        found: String,
    },
    /// A field that is not part of the data set, or not addressable where it was used.
    UnknownField {
        /// The field as written.
        name: String,
    },
    /// The text does not parse.
    Syntax {
        /// What the parser expected at this point.
        expected: &'static str,
        /// What it found instead (empty at the end of the search).
        found: String,
    },
    /// A `timeformat=` that cannot be rendered.
    BadTimeFormat {
        /// The format string.
        format: String,
    },
    /// An eval function this engine does not implement, or called with the wrong arguments.
    UnsupportedFunction {
        /// The function as written, with what is wrong when it is the arguments.
        name: String,
    },
    /// A regular expression the engine's regex syntax does not accept (look-around and
    /// back-references, which PCRE has, are among them).
    BadRegex {
        /// The pattern.
        pattern: String,
        /// The regex parser's reason.
        reason: String,
    },
    /// The mapping profile is unusable.
    Profile {
        /// Why.
        reason: String,
    },
}

/// A compile error, with the expanded search it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// What happened.
    pub kind: CompileErrorKind,
    /// Where, in `search`.
    pub span: Option<Span>,
    /// The search text after macro expansion (as far as expansion got).
    pub search: String,
}

impl CompileError {
    /// An error with no position.
    pub fn bare(kind: CompileErrorKind) -> CompileError {
        CompileError { kind, span: None, search: String::new() }
    }

    /// An error at `span` of `search`.
    pub fn at(kind: CompileErrorKind, span: Span, search: &str) -> CompileError {
        CompileError { kind, span: Some(span), search: search.to_string() }
    }

    /// Whether this is about reading a file (rule or macros), not about the SPL.
    pub fn is_file_problem(&self) -> bool {
        matches!(
            self.kind,
            CompileErrorKind::ReadRule { .. } | CompileErrorKind::BadMacroFile { .. }
        )
    }

    /// Sets the search text that the span refers to.
    pub fn in_search(mut self, search: &str) -> CompileError {
        self.search = search.to_string();
        self
    }
}

impl fmt::Display for CompileErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use CompileErrorKind::*;
        match self {
            ReadRule { path, reason } => write!(f, "cannot read rule {path}: {reason}"),
            BadRuleYaml { reason } => write!(f, "rule is not a detection YAML: {reason}"),
            BadMacroFile { path, reason } => write!(f, "macro file {path}: {reason}"),
            UnknownMacro { name } => write!(f, "unknown macro `{name}`"),
            MacroRecursion { name } => write!(f, "macro `{name}` expands into itself"),
            UnclosedMacro => write!(f, "a backtick macro is not closed"),
            UnclosedComment => write!(f, "a ``` comment is not closed"),
            MacroTooLarge { name } => {
                write!(
                    f,
                    "macro `{name}` expands to more than 1 MiB of search text or 100,000 macro \
                     calls"
                )
            }
            NotTstats => write!(f, "the search must start with `| tstats`"),
            UnsupportedCommand { name } => write!(f, "unsupported command `{name}`"),
            UnsupportedAggregate { name } => write!(f, "unsupported aggregate `{name}`"),
            UnsupportedDatamodel { name } => {
                write!(
                    f,
                    "unsupported data model `{name}` (Endpoint.Processes, Endpoint.Registry and \
                     Endpoint.Filesystem are read)"
                )
            }
            UnsupportedOption { name } => write!(f, "unsupported option `{name}`"),
            UnsupportedOptionValue { name, value } => {
                write!(f, "unsupported value `{name}={value}`")?;
                if name == "summariesonly" {
                    write!(f, " (an offline replay has no accelerated summaries)")?;
                }
                Ok(())
            }
            UnsupportedSyntax { found } => write!(f, "unsupported search syntax `{found}`"),
            LowerCaseOperator { found } => write!(
                f,
                "`{found}` in lower case is a search term, not an operator (Splunk's operators \
                 are upper case: {})",
                found.to_uppercase()
            ),
            UnknownField { name } => write!(f, "field `{name}` is not in the rule's data set"),
            Syntax { expected, found } if found.is_empty() => {
                write!(f, "expected {expected} but the search ends")
            }
            Syntax { expected, found } => write!(f, "expected {expected}, found `{found}`"),
            BadTimeFormat { format } => write!(f, "time format `{format}` cannot be rendered"),
            UnsupportedFunction { name } => write!(f, "unsupported eval function `{name}`"),
            BadRegex { pattern, reason } => {
                let reason = reason.lines().last().unwrap_or_default();
                write!(f, "regular expression `{pattern}` is not supported: {reason}")
            }
            Profile { reason } => write!(f, "mapping profile: {reason}"),
        }
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        let Some(span) = self.span else { return Ok(()) };
        if self.search.is_empty() {
            return Ok(());
        }
        let (line_no, col, line) = locate(&self.search, span.start);
        write!(f, "\n  at line {line_no}, column {col} of the expanded search:\n")?;
        let (shown, caret_at) = window(line, col - 1);
        let width = span
            .end
            .saturating_sub(span.start)
            .clamp(1, shown.len().saturating_sub(caret_at).max(1));
        let pad: String = shown[..caret_at].chars().map(|_| ' ').collect();
        write!(f, "  {shown}\n  {pad}{}", "^".repeat(width.min(60)))
    }
}

impl std::error::Error for CompileError {}

/// How many bytes of context are shown on each side of an error in a long line.
const CONTEXT: usize = 50;

/// The part of `line` shown around byte `at`, with `...` where it is cut, and where `at` falls
/// in the shown text.
fn window(line: &str, at: usize) -> (String, usize) {
    let mut start = at.saturating_sub(CONTEXT);
    while !line.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (at + CONTEXT * 2).min(line.len());
    while !line.is_char_boundary(end) {
        end += 1;
    }
    let lead = if start > 0 { "..." } else { "" };
    let tail = if end < line.len() { "..." } else { "" };
    (format!("{lead}{}{tail}", &line[start..end]), lead.len() + at - start)
}

/// Line number (1-based), column (1-based, bytes) and the line's text for a byte offset.
fn locate(text: &str, offset: usize) -> (usize, usize, &str) {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line_no = text[..start].matches('\n').count() + 1;
    (line_no, offset - start + 1, &text[start..end])
}
