//! The distributed contract's subcommands: `splits`, `partial`, `merge`, `finish`. Each reads
//! its arguments, calls `exchange` and `engine`, and writes one file or the rows; none holds
//! pipeline logic.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use tsreplay::engine::{self, RuleSet};
use tsreplay::error::{Error, StopError, UsageError};
use tsreplay::exchange::{ipc, Manifest, Partial};
use tsreplay::input::Format;
use tsreplay::output::{self, write};

use super::{OutFormat, RuleArgs};

/// `tsreplay splits`.
#[derive(Args)]
pub struct SplitsArgs {
    /// Log files or folders (walked recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Target split size (bytes, or with a K, M, G, KiB, MiB or GiB suffix).
    #[arg(long, default_value = "256MiB", value_parser = super::parse_size)]
    size: u64,
    /// Force the input format instead of recognising it (as for `run`).
    #[arg(long)]
    sourcetype: Option<String>,
    /// Write the manifest to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Say nothing on stderr but failures.
    #[arg(short, long)]
    quiet: bool,
}

/// `tsreplay partial`.
#[derive(Args)]
pub struct PartialArgs {
    /// The manifest written by `tsreplay splits`.
    manifest: PathBuf,
    /// The split to run (its index in the manifest).
    #[arg(long, value_name = "N")]
    split: u32,
    #[command(flatten)]
    rule: RuleArgs,
    /// Run every detection under these files or folders (as `run --rules`).
    #[arg(long, value_name = "PATH", value_delimiter = ',', conflicts_with = "rule")]
    rules: Vec<PathBuf>,
    /// Worker threads (0: one per core; at most 1024).
    #[arg(short = 'j', long, default_value_t = 0,
          value_parser = clap::value_parser!(u16).range(0..=1024))]
    threads: u16,
    /// Parse every record: the raw-byte prefilter off.
    #[arg(long)]
    no_prefilter: bool,
    /// The most groups the split's tables may hold (as for `run`).
    #[arg(long, value_name = "N")]
    max_groups: Option<usize>,
    /// Target chunk size in bytes inside the split.
    #[arg(long, default_value_t = engine::DEFAULT_CHUNK, hide = true)]
    chunk_size: usize,
    /// The partial (Arrow IPC file) to write.
    #[arg(short, long, value_name = "PART", required = true)]
    output: PathBuf,
    /// Say nothing on stderr but failures.
    #[arg(short, long)]
    quiet: bool,
}

/// `tsreplay merge`.
#[derive(Args)]
pub struct MergeArgs {
    /// Partials (or merges) of one manifest and rule set.
    #[arg(required = true)]
    parts: Vec<PathBuf>,
    /// The merged partial to write.
    #[arg(short, long, value_name = "MERGED", required = true)]
    output: PathBuf,
    /// Say nothing on stderr but failures.
    #[arg(short, long)]
    quiet: bool,
}

/// `tsreplay finish`.
#[derive(Args)]
pub struct FinishArgs {
    /// A merge of partials that covers every split of the manifest.
    merged: PathBuf,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = OutFormat::Table)]
    format: OutFormat,
    /// Time zone for ctime output (IANA name).
    #[arg(long, default_value = "UTC")]
    tz: String,
    /// Write the rows to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Do not print the summary on stderr.
    #[arg(short, long)]
    quiet: bool,
}

/// Plans the splits and writes the manifest; 2 when some input could not be read.
pub fn splits(args: SplitsArgs) -> Result<u8, Error> {
    let forced = match &args.sourcetype {
        Some(st) => Some(Format::from_sourcetype(st).ok_or_else(|| Error::Sourcetype(st.clone()))?),
        None => None,
    };
    if args.size == 0 {
        return Err(Error::Usage(UsageError::ZeroSplitSize));
    }
    let m = Manifest::plan(&args.paths, args.size, forced);
    let mut err = std::io::stderr().lock();
    for (p, why) in &m.unread.failed {
        let p = write::visible(&p.display().to_string());
        let _ = writeln!(err, "  not read: {p}: {}", write::visible(why));
    }
    if m.splits.is_empty() {
        return Err(Error::Exchange(tsreplay::exchange::ExchangeError::NoSplits));
    }
    if let Some(out) = &args.output {
        let planned: Vec<PathBuf> = m.files.iter().map(|f| f.path.clone()).collect();
        super::refuse_output_onto(out, args.paths.iter().chain(&planned))?;
    }
    let text = m.to_json();
    match &args.output {
        Some(path) => output::atomic::write_file(path, |w| w.write_all(text.as_bytes()))
            .map_err(|e| Error::WriteFile(path.clone(), e))?,
        None => super::print_stdout(text.as_bytes())?,
    }
    let (files, splits) = (m.files.len(), m.splits.len());
    if !args.quiet {
        let id = &m.id;
        let _ = writeln!(err, "tsreplay splits: {files} files in {splits} splits (manifest {id})");
    }
    Ok(if m.unread.failed.is_empty() { 0 } else { 2 })
}

/// Runs one split and writes its partial; nothing is written when the run stopped early.
pub fn partial(args: PartialArgs) -> Result<u8, Error> {
    // Caught from the start: a signal while the rules compile stops the run before it reads.
    let interrupt = super::interrupt_flag();
    let m = Manifest::read(&args.manifest)?;
    let listed = std::iter::once(&args.manifest).chain(&args.rules).chain(&args.rule.rule);
    let data: Vec<PathBuf> = m.files.iter().map(|f| f.path.clone()).collect();
    super::refuse_output_onto(&args.output, listed.chain(&data))?;
    let (set, catalog) = rule_set(&args.rule, &args.rules, args.quiet)?;
    let by_fields = set.rules.iter().map(|r| r.plan.by.len()).max().unwrap_or(1);
    let opts = engine::Options {
        threads: usize::from(args.threads),
        chunk_size: args.chunk_size,
        prefilter: !args.no_prefilter,
        max_groups: args.max_groups.unwrap_or_else(|| engine::default_max_groups(by_fields)),
        interrupt: Some(interrupt),
        ..engine::Options::default()
    };
    let (mut p, stopped) = engine::run_split(&set, &m, args.split, &opts)?;
    p.stamp.catalog = catalog;
    match stopped {
        Some(engine::Stopped::MaxGroups(n)) => return Err(Error::Stopped(StopError::MaxGroups(n))),
        Some(engine::Stopped::Interrupted) => {
            let _ =
                writeln!(std::io::stderr(), "tsreplay: {}", Error::Stopped(StopError::Interrupted));
            return Ok(super::INTERRUPTED);
        }
        None => {}
    }
    write_partial(&args.output, &p)?;
    if !args.quiet {
        let s = &p.body.stats;
        let groups: usize = p.body.tables.iter().map(|t| t.len()).sum();
        let _ = writeln!(
            std::io::stderr(),
            "tsreplay partial: split {} of {}: {} records, {} matched, {groups} groups",
            args.split,
            m.splits.len(),
            s.records,
            s.matched
        );
    }
    for (p, why) in &p.body.failed {
        let p = write::visible(&p.display().to_string());
        let _ = writeln!(std::io::stderr(), "  not read: {p}: {}", write::visible(why));
    }
    Ok(if p.body.failed.is_empty() { 0 } else { 2 })
}

/// The rules of `--rule` (or the embedded default), or of `--rules` with how many compiled
/// of how many were found.
fn rule_set(
    rule: &RuleArgs,
    rules: &[PathBuf],
    quiet: bool,
) -> Result<(RuleSet, Option<(usize, usize)>), Error> {
    if rules.is_empty() {
        return Ok((RuleSet::new(vec![super::compile(rule)?]), None));
    }
    let profile = super::load_profile(rule.profile.as_deref())?;
    let cat = tsreplay::catalog::load(rules, &rule.macros, &profile, true)?;
    if super::say_unreadable(&cat) != 0 {
        // A partial must hold the same rules wherever it runs: a file that one task cannot
        // read would make its stamp differ from the others'.
        return Err(Error::Usage(UsageError::RulesUnreadable));
    }
    let compiled = cat.rules();
    let counts = (compiled.len(), cat.entries.len());
    if !quiet {
        super::say_compiled(counts.0, counts.1);
    }
    if compiled.is_empty() {
        return Err(Error::Usage(UsageError::NoRuleCompiled));
    }
    Ok((RuleSet::new(compiled), Some(counts)))
}

fn write_partial(path: &Path, p: &Partial) -> Result<(), Error> {
    output::atomic::write_file(path, |w| ipc::write(p, w).map_err(std::io::Error::other))
        .map_err(|e| Error::WriteFile(path.to_path_buf(), e))
}

/// Merges partials in the order given, refusing the first one that does not fit.
pub fn merge(args: MergeArgs) -> Result<u8, Error> {
    super::refuse_output_onto(&args.output, args.parts.iter())?;
    let mut merged: Option<Partial> = None;
    for path in &args.parts {
        let p = ipc::read(path)?;
        match &mut merged {
            None => merged = Some(p),
            Some(m) => m.merge(p).map_err(|e| in_file(path, e))?,
        }
    }
    let merged = merged.ok_or(tsreplay::exchange::ExchangeError::NothingToMerge)?;
    super::refuse_output_onto(&args.output, merged.stamp.files.iter())?;
    write_partial(&args.output, &merged)?;
    if !args.quiet {
        let (have, total) = (merged.covered.len(), merged.stamp.splits);
        let _ = writeln!(std::io::stderr(), "tsreplay merge: {have} of {total} splits covered");
    }
    Ok(0)
}

/// A merge error, said with the file that caused it.
fn in_file(path: &Path, e: tsreplay::exchange::ExchangeError) -> Error {
    let _ = writeln!(
        std::io::stderr(),
        "tsreplay merge: refused when {} was merged into the partials before it (either side \
         may be the damaged one)",
        path.display()
    );
    Error::Exchange(e)
}

/// Prints the rows of a complete merge, as `run` prints them.
pub fn finish(args: FinishArgs) -> Result<u8, Error> {
    let tz = output::time_zone(&args.tz)?;
    if let Some(out) = &args.output {
        super::refuse_output_onto(out, std::iter::once(&args.merged))?;
    }
    let p = ipc::read(&args.merged)?;
    if let Some(out) = &args.output {
        super::refuse_output_onto(out, p.stamp.files.iter())?;
    }
    let catalog = p.stamp.catalog;
    let (plans, report) = engine::finish_partial(p, &tz, 0)?;
    match catalog {
        Some((compiled, found)) => {
            if !args.quiet {
                super::say_compiled(compiled, found);
            }
            let names: Vec<&str> = plans.iter().map(|p| p.name.as_str()).collect();
            super::print_set_summary(&names, &report, args.quiet);
        }
        None => super::print_summary(&report.summary, args.quiet),
    }
    let format = super::out_format(args.format);
    let tables: Vec<write::RuleTable<'_>> = plans
        .iter()
        .zip(&report.rules)
        .map(|(p, o)| write::RuleTable { name: &p.name, id: &p.id, table: &o.table })
        .collect();
    // As `run` prints them: a `--rule` table plain, `--rules` tables per rule.
    let render = |out: &mut dyn Write| match (tables.as_slice(), catalog) {
        ([one], None) => write::write_table(out, one.table, format),
        (many, _) => write::write_rule_tables(out, many, format),
    };
    if let Some(code) = super::deliver(args.output.as_deref(), false, &render)? {
        return Ok(code);
    }
    Ok(if report.summary.failed.is_empty() { 0 } else { 2 })
}
