//! The top-level error: wraps each stage's own error type and maps it to the exit status.
//!
//! Owns the exit-status contract of `run` (0 every input read, 1 rule does not compile, 2 some
//! input unreadable or unrecognised, or bad usage, 3 stopped at `--max-groups`, 130
//! interrupted). The checking commands (`compare`, `diff`,
//! `test`) keep 1 for "different" or "failed", so every error stops them with 2. Stages never
//! import this module.

use std::fmt;

use crate::cim::ProfileError;
use crate::compare::export::ExportError;
use crate::compare::CompareError;
use crate::output::BadTimeZone;
use crate::spl::CompileError;

/// Any error that stops a command before it produces rows.
#[derive(Debug)]
pub enum Error {
    /// The rule does not compile.
    Compile(CompileError),
    /// The mapping profile is unusable.
    Profile(ProfileError),
    /// The `--tz` name is unknown.
    TimeZone(BadTimeZone),
    /// A `--sourcetype` value that names no supported format.
    Sourcetype(String),
    /// Writing the results failed.
    Output(std::io::Error),
    /// Writing a named file (a suggested profile, a JUnit report) failed.
    WriteFile(std::path::PathBuf, std::io::Error),
    /// A result file to compare cannot be read.
    Export(ExportError),
    /// Two tables cannot be compared as asked.
    Compare(CompareError),
    /// Options that do not go together.
    Usage(UsageError),
    /// The JUnit report cannot be built.
    Junit(quick_junit::SerializeError),
    /// The run stopped at a limit: no table is printed, because it would be incomplete.
    Stopped(StopError),
    /// A manifest or partial could not be made, read, merged or finished.
    Exchange(crate::exchange::ExchangeError),
}

/// Limits that stop a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopError {
    /// The group tables reached `--max-groups`.
    MaxGroups(usize),
    /// A signal stopped a `partial` run, which then writes nothing.
    Interrupted,
}

/// Options that do not go together, or name the wrong kind of thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageError {
    /// `--findings` with `--format csv`.
    FindingsInCsv,
    /// `--data-dir` is not a folder.
    DataDirNotFolder(std::path::PathBuf),
    /// `-o` names an input file.
    OutputIsInput(std::path::PathBuf),
    /// `run --rules` found no detection that compiles.
    NoRuleCompiled,
    /// `partial --rules` met detection files it cannot read.
    RulesUnreadable,
    /// `splits --size 0`.
    ZeroSplitSize,
}

impl Error {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Compile(_) | Error::Profile(_) => 1,
            Error::TimeZone(_)
            | Error::Sourcetype(_)
            | Error::Output(_)
            | Error::WriteFile(..)
            | Error::Export(_)
            | Error::Compare(_)
            | Error::Usage(_)
            | Error::Junit(_) => 2,
            Error::Stopped(_) => 3,
            Error::Exchange(e) if e.is_unreadable_or_usage() => 2,
            Error::Exchange(_) => 4,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Compile(e) if e.is_file_problem() => write!(f, "{e}"),
            Error::Compile(e) => write!(f, "rule does not compile: {e}"),
            Error::Profile(e) => write!(f, "{e}"),
            Error::TimeZone(e) => write!(f, "{e}"),
            Error::Sourcetype(s) => write!(
                f,
                "unknown --sourcetype `{s}` (use xmlwineventlog, crowdstrike:events:sensor, \
                 json or evtx)"
            ),
            Error::Output(e) => write!(f, "cannot write results: {e}"),
            Error::WriteFile(p, e) => write!(f, "cannot write {}: {e}", p.display()),
            Error::Export(e) => write!(f, "{e}"),
            Error::Compare(e) => write!(f, "{e}"),
            Error::Usage(UsageError::FindingsInCsv) => {
                write!(
                    f,
                    "--findings needs --format table or --format json (a CSV row has no room)"
                )
            }
            Error::Usage(UsageError::OutputIsInput(p)) => {
                write!(f, "-o names an input ({}): it would replace what it reads", p.display())
            }
            Error::Usage(UsageError::NoRuleCompiled) => write!(
                f,
                "no detection under --rules compiled (`tsreplay catalog PATH` gives the reasons)"
            ),
            Error::Usage(UsageError::ZeroSplitSize) => {
                write!(f, "--size 0: a split must hold at least one byte")
            }
            Error::Usage(UsageError::RulesUnreadable) => write!(
                f,
                "some detection files under --rules could not be read (named above); a partial \
                 must hold the same rules wherever it runs, so none is written"
            ),
            Error::Usage(UsageError::DataDirNotFolder(p)) => {
                write!(f, "--data-dir {} is not a folder", p.display())
            }
            Error::Junit(e) => write!(f, "cannot build the JUnit report: {e}"),
            Error::Exchange(e) => write!(f, "{e}"),
            Error::Stopped(StopError::Interrupted) => {
                write!(f, "interrupted: no partial was written (it would miss records)")
            }
            Error::Stopped(StopError::MaxGroups(n)) => write!(
                f,
                "stopped: the group tables reached --max-groups {n} (a BY list of near-unique \
                 values over this much input); no table is printed, because it would be \
                 incomplete. Raise --max-groups (memory grows with the number of groups and the \
                 length of their values), or narrow the input or the BY list"
            ),
        }
    }
}

impl std::error::Error for Error {}

impl From<crate::exchange::ExchangeError> for Error {
    fn from(e: crate::exchange::ExchangeError) -> Error {
        Error::Exchange(e)
    }
}

impl From<CompileError> for Error {
    fn from(e: CompileError) -> Error {
        Error::Compile(e)
    }
}

impl From<ProfileError> for Error {
    fn from(e: ProfileError) -> Error {
        Error::Profile(e)
    }
}

impl From<BadTimeZone> for Error {
    fn from(e: BadTimeZone) -> Error {
        Error::TimeZone(e)
    }
}

impl From<ExportError> for Error {
    fn from(e: ExportError) -> Error {
        Error::Export(e)
    }
}

impl From<CompareError> for Error {
    fn from(e: CompareError) -> Error {
        Error::Compare(e)
    }
}
