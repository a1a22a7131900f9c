//! The `tsreplay` command line: parses arguments, builds the engine's inputs, runs, prints, and
//! maps the outcome to an exit status. It holds no pipeline logic.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[path = "cli/exchange.rs"]
mod exchange_cmd;

use tsreplay::cim::Profile;
use tsreplay::compare;
use tsreplay::engine::{self, Options};
use tsreplay::error::{Error, StopError, UsageError};
use tsreplay::harness;
use tsreplay::input::Format;
use tsreplay::output::{self, findings, write};
use tsreplay::spl::{Detection, MacroTable};

#[derive(Parser)]
#[command(
    name = "tsreplay",
    version,
    about = "Replay Splunk detections over security logs offline"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
    /// Log decisions and recoveries to stderr (-v debug, -vv trace, -vvv with dependencies).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
}

#[derive(Subcommand)]
enum Cmd {
    /// Replay a detection over log files and print the rows Splunk would return.
    Run(RunArgs),
    /// Print the compiled plan of a detection.
    Explain(RuleArgs),
    /// Write seeded synthetic logs with a known share of positives for the default rule.
    Gen(GenArgs),
    /// Run the benchmark matrix with its baselines and write results/<date>_<commit>_matrix/.
    Bench(BenchArgs),
    /// Replay a detection and compare its rows with a Splunk export (exit 0 equal, 1
    /// different, 2 unreadable).
    Compare(CompareArgs),
    /// Compare two result files: tsreplay's csv or json output and a Splunk export.
    Diff(DiffArgs),
    /// Run detections' unit tests (their `tests:` block) over local attack data (exit 0 only
    /// when every test passed).
    Test(TestArgs),
    /// Compile every detection under some folders and report what compiles and why the rest
    /// does not; reads no data.
    Catalog(CatalogArgs),
    /// Cut input files into byte-range splits and write their manifest (JSON).
    Splits(exchange_cmd::SplitsArgs),
    /// Run the rules over one split of a manifest; write its partial group tables (Arrow IPC).
    Partial(exchange_cmd::PartialArgs),
    /// Merge partials of one manifest and rule set (refuses overlapping splits).
    Merge(exchange_cmd::MergeArgs),
    /// Print the rows of a merge that covers every split (names the missing ones otherwise).
    Finish(exchange_cmd::FinishArgs),
}

#[derive(Args)]
struct CatalogArgs {
    /// Detection YAML files or folders (a security_content checkout, or part of one).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Folder of macro YAML files, over the embedded macros and the checkout's own `macros/`.
    #[arg(long)]
    macros: Vec<PathBuf>,
    /// TOML file overriding the add-on mapping profile, per field.
    #[arg(long)]
    profile: Option<PathBuf>,
    /// List each indicator (field, operator, value) with the number of compiled rules using
    /// it, instead of the coverage report.
    #[arg(long)]
    indicators: bool,
    /// Also list every detection: its path, name, and `compiled` or its reason.
    #[arg(long)]
    list: bool,
}

#[derive(Args)]
struct TestArgs {
    /// Detection YAML files, or folders of them.
    #[arg(required = true)]
    detections: Vec<PathBuf>,
    /// Local copy of the attack_data repository: each data URL is the path after
    /// `attack_data/master/` under it, or else a file of the same name anywhere under it.
    #[arg(long, value_name = "DIR")]
    data_dir: PathBuf,
    /// Also write the outcomes as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Folder of security_content macro YAML files; adds to and overrides the embedded macros.
    #[arg(long)]
    macros: Vec<PathBuf>,
    /// TOML file overriding the add-on mapping profile, per field.
    #[arg(long)]
    profile: Option<PathBuf>,
    /// contentctl's row-order check (a row with a null risk object fails at once) instead of
    /// "some row has every risk object".
    #[arg(long)]
    strict: bool,
    /// Worker threads (0: one per core; at most 1024).
    #[arg(short = 'j', long, default_value_t = 0,
          value_parser = clap::value_parser!(u16).range(0..=1024))]
    threads: u16,
}

#[derive(Args)]
struct BenchArgs {
    /// Input sizes, comma-separated (bytes, or with a K, M, G, KiB, MiB or GiB suffix).
    #[arg(long, value_delimiter = ',', default_value = "1GiB", value_parser = parse_size)]
    sizes: Vec<u64>,
    /// Thread counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    threads: Vec<usize>,
    /// Shares of positives, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0.002,0.05")]
    selectivity: Vec<f64>,
    /// Formats, comma-separated.
    #[arg(long, value_delimiter = ',', value_enum, default_value = "sysmon-xml,crowdstrike-json")]
    formats: Vec<GenKind>,
    /// Runs per measurement; the best is kept.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Scratch folder for generated inputs (kept between runs, outside the project).
    #[arg(long, default_value = "/tmp/tsreplay-bench")]
    scratch: PathBuf,
    /// Folder in which the results folder is made.
    #[arg(long, default_value = "results")]
    results: PathBuf,
    /// Also run every detection under this folder in one pass (`run --rules`), reported
    /// against the default rule alone.
    #[arg(long, value_name = "PATH")]
    rules: Option<PathBuf>,
}

#[derive(Args)]
struct GenArgs {
    /// Record format.
    #[arg(long, value_enum, default_value_t = GenKind::SysmonXml)]
    format: GenKind,
    /// How much to write: bytes, or with a K, M, G, KiB, MiB or GiB suffix.
    #[arg(long, default_value = "10MiB", value_parser = parse_size)]
    size: u64,
    /// Share of records that are positives for BITS Job Persistence (0 to 1).
    #[arg(long, default_value_t = 0.002)]
    positives: f64,
    /// Seed: the same seed, format and size give the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output file (default: standard output).
    #[arg(short, long)]
    output: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum GenKind {
    SysmonXml,
    SecurityXml,
    CrowdstrikeJson,
}

fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("`{text}` is not a size"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        u if u.starts_with('.') => {
            return Err(format!("`{text}`: sizes are whole numbers (write 1536KiB for 1.5MiB)"))
        }
        _ => return Err(format!("`{text}`: unknown size unit")),
    };
    n.checked_mul(mult).ok_or_else(|| format!("`{text}` is too large"))
}

#[derive(Args)]
struct RuleArgs {
    /// Detection YAML (security_content layout); default: the embedded BITS Job Persistence v13.
    #[arg(long)]
    rule: Option<PathBuf>,
    /// Folder of security_content macro YAML files; adds to and overrides the embedded macros.
    #[arg(long)]
    macros: Vec<PathBuf>,
    /// TOML file overriding the add-on mapping profile, per field.
    #[arg(long)]
    profile: Option<PathBuf>,
}

#[derive(Args)]
struct ReplayArgs {
    #[command(flatten)]
    rule: RuleArgs,
    /// Time zone for ctime output (IANA name).
    #[arg(long, default_value = "UTC")]
    tz: String,
    /// Force the input format instead of recognising it (xmlwineventlog,
    /// crowdstrike:events:sensor, json, evtx).
    #[arg(long)]
    sourcetype: Option<String>,
    /// Worker threads (0: one per core; at most 1024).
    #[arg(short = 'j', long, default_value_t = 0,
          value_parser = clap::value_parser!(u16).range(0..=1024))]
    threads: u16,
    /// Target chunk size in bytes for text inputs.
    #[arg(long, default_value_t = engine::DEFAULT_CHUNK, hide = true)]
    chunk_size: usize,
    /// Parse every record: the raw-byte prefilter off. Rows never change; malformed records the
    /// prefilter would have skipped are counted too.
    #[arg(long)]
    no_prefilter: bool,
    /// Do not print the summary on stderr (paths that could not be read are still named).
    #[arg(short, long)]
    quiet: bool,
    /// The most groups the workers may hold together; past it the run stops with an error
    /// rather than run out of memory (default: a quarter of the available memory, at an
    /// estimated 64 bytes a group plus 120 a BY field).
    #[arg(long, value_name = "N")]
    max_groups: Option<usize>,
    /// Log files or folders (walked recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    replay: ReplayArgs,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = OutFormat::Table)]
    format: OutFormat,
    /// After each row, its finding: message, entities and scores, threat objects, MITRE ids,
    /// drilldown searches (table: after the table; json: `{"row":…,"finding":…}` lines).
    #[arg(long)]
    findings: bool,
    /// Write the results to FILE (through a temporary file renamed into place when complete)
    /// instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Run every detection under these files or folders in one pass (repeat the option or
    /// separate with commas); those that do not compile are counted and named by
    /// `tsreplay catalog`.
    #[arg(long, value_name = "PATH", value_delimiter = ',', conflicts_with = "rule")]
    rules: Vec<PathBuf>,
}

#[derive(Args)]
struct CompareArgs {
    /// The Splunk export: CSV, REST results JSON or export JSON lines.
    #[arg(long, value_name = "EXPORT")]
    splunk: PathBuf,
    #[command(flatten)]
    check: CheckArgs,
    #[command(flatten)]
    replay: ReplayArgs,
}

#[derive(Args)]
struct DiffArgs {
    /// tsreplay's rows (`--format csv` or `--format json` output), or any export.
    ours: PathBuf,
    /// Splunk's rows: CSV, REST results JSON or export JSON lines.
    splunk: PathBuf,
    /// TOML file overriding the add-on mapping profile the fixes are phrased against.
    #[arg(long)]
    profile: Option<PathBuf>,
    #[command(flatten)]
    check: CheckArgs,
}

#[derive(Args)]
struct CheckArgs {
    /// Splunk's job statistics (REST job JSON with runDuration, scanCount, eventCount).
    #[arg(long, value_name = "JOB_JSON")]
    job: Option<PathBuf>,
    /// Columns that pair differing rows (comma-separated); default: rows pair when at most
    /// --near columns differ.
    #[arg(long, value_delimiter = ',')]
    key: Vec<String>,
    /// At most this many differing columns make two rows near rows.
    #[arg(long, default_value_t = 2)]
    near: usize,
    /// Rows listed per list.
    #[arg(long, default_value_t = 10)]
    show: usize,
    /// Write the profile fixes the report proposes to this TOML file.
    #[arg(long, value_name = "FILE")]
    suggest_profile: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutFormat {
    Table,
    Csv,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    // For the checking commands, 1 means "different", so anything that stops them is 2.
    let checking = matches!(cli.command, Cmd::Compare(_) | Cmd::Diff(_) | Cmd::Test(_));
    let result = match cli.command {
        Cmd::Compare(args) => compare(args),
        Cmd::Diff(args) => diff(args),
        Cmd::Test(args) => test(args),
        Cmd::Run(args) => run(args),
        Cmd::Explain(args) => explain(args),
        Cmd::Gen(args) => gen(args),
        Cmd::Bench(args) => bench(args),
        Cmd::Catalog(args) => catalog(args),
        Cmd::Splits(args) => exchange_cmd::splits(args),
        Cmd::Partial(args) => exchange_cmd::partial(args),
        Cmd::Merge(args) => exchange_cmd::merge(args),
        Cmd::Finish(args) => exchange_cmd::finish(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "tsreplay: {e}");
            ExitCode::from(if checking { 2 } else { e.exit_code() as u8 })
        }
    }
}

fn compile(args: &RuleArgs) -> Result<engine::Compiled, Error> {
    Ok(compile_detection(args)?.1)
}

fn compile_detection(args: &RuleArgs) -> Result<(Detection, engine::Compiled), Error> {
    let det = match &args.rule {
        Some(path) => Detection::from_path(path)?,
        None => Detection::default_rule(),
    };
    let macros = load_macros(&args.macros)?;
    let compiled = engine::compile(&det, &macros, load_profile(args.profile.as_deref())?)?;
    Ok((det, compiled))
}

/// The embedded macros with the `--macros` folders over them.
fn load_macros(dirs: &[PathBuf]) -> Result<MacroTable, Error> {
    let mut macros = MacroTable::with_defaults();
    for dir in dirs {
        macros.load_dir(dir)?;
    }
    Ok(macros)
}

/// The embedded profile with the `--profile` overrides, if any.
fn load_profile(path: Option<&std::path::Path>) -> Result<Profile, Error> {
    Ok(match path {
        Some(p) => Profile::with_overrides(p)?,
        None => Profile::default_profile(),
    })
}

fn gen_format(kind: GenKind) -> (tsreplay::gen::GenFormat, &'static str) {
    match kind {
        GenKind::SysmonXml => (tsreplay::gen::GenFormat::SysmonXml, "sysmon-xml"),
        GenKind::SecurityXml => (tsreplay::gen::GenFormat::SecurityXml, "security-xml"),
        GenKind::CrowdstrikeJson => (tsreplay::gen::GenFormat::CrowdStrikeJson, "crowdstrike-json"),
    }
}

fn bench(args: BenchArgs) -> Result<u8, Error> {
    let matrix = tsreplay::bench::Matrix {
        formats: args.formats.iter().map(|k| gen_format(*k)).collect(),
        sizes: args.sizes,
        selectivity: args.selectivity.iter().map(|s| s.clamp(0.0, 1.0)).collect(),
        threads: args.threads.into_iter().map(|t| t.clamp(1, 1024)).collect(),
        runs: args.runs.clamp(1, 20),
        scratch: args.scratch,
        results: args.results,
        rules: args.rules,
    };
    let dir = tsreplay::bench::run(&matrix).map_err(Error::Output)?;
    let summary = std::fs::read_to_string(dir.join("summary.md")).map_err(Error::Output)?;
    print_stdout(summary.as_bytes())?;
    let _ = writeln!(std::io::stderr(), "tsreplay bench: results in {}", dir.display());
    Ok(0)
}

fn gen(args: GenArgs) -> Result<u8, Error> {
    let format = gen_format(args.format).0;
    let share = args.positives.clamp(0.0, 1.0);
    let result = match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(Error::Output)?;
            let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
            tsreplay::gen::generate(&mut out, format, args.size, share, args.seed)
        }
        None => {
            let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            tsreplay::gen::generate(&mut out, format, args.size, share, args.seed)
        }
    };
    let g = match result {
        Ok(g) => g,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(0),
        Err(e) => return Err(Error::Output(e)),
    };
    let _ = writeln!(
        std::io::stderr(),
        "tsreplay gen: {} bytes, {} records, {} positives (each its own row for the default rule)",
        g.bytes,
        g.records,
        g.positives
    );
    Ok(0)
}

fn explain(args: RuleArgs) -> Result<u8, Error> {
    let compiled = compile(&args)?;
    print_stdout(engine::explain(&compiled).as_bytes())?;
    Ok(0)
}

/// The run options of the replay arguments, for rules with at most `by_fields` BY fields.
fn replay_options(args: &ReplayArgs, by_fields: usize) -> Result<Options, Error> {
    let forced = match &args.sourcetype {
        Some(st) => Some(Format::from_sourcetype(st).ok_or_else(|| Error::Sourcetype(st.clone()))?),
        None => None,
    };
    let show_progress = !args.quiet && std::io::stderr().is_terminal();
    Ok(Options {
        threads: usize::from(args.threads),
        chunk_size: args.chunk_size,
        prefilter: !args.no_prefilter,
        tz: output::time_zone(&args.tz)?,
        forced,
        forced_paths: Vec::new(),
        progress: show_progress.then(|| Arc::new(Bar::new()) as Arc<dyn engine::Progress>),
        max_groups: args.max_groups.unwrap_or_else(|| engine::default_max_groups(by_fields)),
        interrupt: Some(interrupt_flag()),
    })
}

/// Compiles the rule and replays it over the paths; prints the summary on stderr.
fn replay(args: &ReplayArgs) -> Result<(Detection, engine::Compiled, engine::Report), Error> {
    let (det, compiled) = compile_detection(&args.rule)?;
    let opts = replay_options(args, compiled.plan.by.len())?;
    let mut report = engine::run(&compiled, &args.paths, &opts);
    if matches!(report.stopped, Some(engine::Stopped::MaxGroups(_))) {
        // No table will be printed: the summary must not count rows.
        report.summary.rows = 0;
    }
    print_summary(&report.summary, args.quiet);
    if let Some(engine::Stopped::MaxGroups(n)) = report.stopped {
        return Err(Error::Stopped(StopError::MaxGroups(n)));
    }
    Ok((det, compiled, report))
}

fn run(args: RunArgs) -> Result<u8, Error> {
    // Caught from the start: a signal while the rules compile stops the run before it reads.
    interrupt_flag();
    if args.findings && matches!(args.format, OutFormat::Csv) {
        return Err(Error::Usage(UsageError::FindingsInCsv));
    }
    if let Some(out) = &args.output {
        let read = args.replay.paths.iter().chain(&args.rules).chain(&args.replay.rule.rule);
        refuse_output_onto(out, read)?;
    }
    if !args.rules.is_empty() {
        return run_rules(args);
    }
    let (det, _, report) = replay(&args.replay)?;
    let format = out_format(args.format);
    let meta = if args.findings { Some(det.meta()?) } else { None };
    let table = &report.table;
    let render = |out: &mut dyn Write| match (&meta, format) {
        (Some(m), write::Format::Json) => findings::write_json(out, m, &det.search, table),
        (Some(m), _) => {
            write::write_table(out, table, format)?;
            out.write_all(findings::render_text(m, &det.search, table).as_bytes())
        }
        (None, _) => write::write_table(out, table, format),
    };
    let interrupted = report.stopped == Some(engine::Stopped::Interrupted);
    if let Some(code) = deliver(args.output.as_deref(), interrupted, &render)? {
        return Ok(code);
    }
    Ok(if report.summary.failed.is_empty() { 0 } else { 2 })
}

fn out_format(f: OutFormat) -> write::Format {
    match f {
        OutFormat::Table => write::Format::Table,
        OutFormat::Csv => write::Format::Csv,
        OutFormat::Json => write::Format::Json,
    }
}

/// Writes the results to `-o FILE` or stdout; `Some(INTERRUPTED)` when the run or the
/// writing was interrupted (an interrupted run writes no file: a file that looks complete
/// must be complete).
fn deliver(
    output: Option<&std::path::Path>,
    interrupted: bool,
    render: &dyn Fn(&mut dyn Write) -> std::io::Result<()>,
) -> Result<Option<u8>, Error> {
    WRITING.store(true, Ordering::SeqCst);
    let written = match output {
        Some(path) if interrupted => {
            let _ = writeln!(
                std::io::stderr(),
                "tsreplay: interrupted: {} was not written (the table would be partial)",
                path.display()
            );
            Ok(())
        }
        Some(path) => output::atomic::write_file(path, render),
        None => write_stdout_raw(render),
    };
    WRITING.store(false, Ordering::SeqCst);
    let stopped_writing = matches!(&written, Err(e) if e.kind() == std::io::ErrorKind::Interrupted);
    match (written, output) {
        (Err(_), _) if stopped_writing => {}
        (Err(e), Some(path)) => return Err(Error::WriteFile(path.to_path_buf(), e)),
        (Err(e), None) => return Err(Error::Output(e)),
        (Ok(()), _) => {}
    }
    if interrupted || stopped_writing {
        say_interrupted(output, interrupted, stopped_writing);
        return Ok(Some(INTERRUPTED));
    }
    Ok(None)
}

fn catalog(args: CatalogArgs) -> Result<u8, Error> {
    let profile = load_profile(args.profile.as_deref())?;
    let cat = tsreplay::catalog::load(&args.paths, &args.macros, &profile, true)?;
    let mut text = String::new();
    if args.indicators {
        text.push_str(&tsreplay::catalog::render_indicators(&tsreplay::catalog::indicators(&cat)));
    } else {
        text.push_str(&tsreplay::catalog::render(&cat));
    }
    if args.list {
        text.push('\n');
        text.push_str(&tsreplay::catalog::render_list(&cat));
    }
    print_stdout(text.as_bytes())?;
    Ok(say_unreadable(&cat))
}

/// Names on stderr the detection files that could not be read; 2 when there were some.
fn say_unreadable(cat: &tsreplay::catalog::Catalog) -> u8 {
    let unread = cat.unreadable();
    for (path, why) in &unread {
        let path = write::visible(&path.display().to_string());
        let _ = writeln!(std::io::stderr(), "tsreplay: not read: {path}: {}", write::visible(why));
    }
    if unread.is_empty() {
        0
    } else {
        2
    }
}

/// Refuses `-o OUT` when OUT is one of the files the run reads (data, rules, profile).
fn refuse_output_onto<'p>(
    out: &std::path::Path,
    read: impl Iterator<Item = &'p PathBuf>,
) -> Result<(), Error> {
    if tsreplay::input::Snapshot::of(out).is_none() {
        return Ok(());
    }
    for p in read {
        if tsreplay::input::Snapshot::same_file(p, out) {
            return Err(Error::Usage(UsageError::OutputIsInput(p.clone())));
        }
    }
    Ok(())
}

/// `run --rules`: the compiled part of a catalog in one pass, rows per rule.
fn run_rules(args: RunArgs) -> Result<u8, Error> {
    let profile = load_profile(args.replay.rule.profile.as_deref())?;
    let cat = tsreplay::catalog::load(&args.rules, &args.replay.rule.macros, &profile, true)?;
    if let Some(out) = &args.output {
        let files: Vec<PathBuf> = cat.entries.iter().map(|e| e.path.clone()).collect();
        refuse_output_onto(out, files.iter())?;
    }
    let rules = cat.rules();
    say_compiled(rules.len(), cat.entries.len());
    if rules.is_empty() {
        say_unreadable(&cat);
        return Err(Error::Usage(UsageError::NoRuleCompiled));
    }
    let by_fields = rules.iter().map(|r| r.plan.by.len()).max().unwrap_or(1);
    let opts = replay_options(&args.replay, by_fields)?;
    let set = engine::RuleSet::new(rules);
    let report = engine::run_set(&set, &args.replay.paths, &opts);
    let names: Vec<&str> = set.rules.iter().map(|r| r.plan.name.as_str()).collect();
    print_set_summary(&names, &report, args.replay.quiet);
    if let Some(engine::Stopped::MaxGroups(n)) = report.stopped {
        return Err(Error::Stopped(StopError::MaxGroups(n)));
    }
    let tables: Vec<write::RuleTable<'_>> = set
        .rules
        .iter()
        .zip(&report.rules)
        .map(|(c, o)| write::RuleTable { name: &c.plan.name, id: &c.plan.id, table: &o.table })
        .collect();
    let format = out_format(args.format);
    let metas = if args.findings { finding_metas(&cat)? } else { Vec::new() };
    let render = |out: &mut dyn Write| {
        if args.findings && format == write::Format::Json {
            for (t, (meta, search)) in tables.iter().zip(&metas) {
                findings::write_json_tagged(out, meta, search, t.table, Some((t.name, t.id)))?;
            }
            return Ok(());
        }
        if !args.findings {
            return write::write_rule_tables(out, &tables, format);
        }
        // Each rule's findings right after its table.
        for (t, (meta, search)) in tables.iter().zip(&metas) {
            write::write_rule_tables(out, std::slice::from_ref(t), format)?;
            if !t.table.rows.is_empty() {
                out.write_all(findings::render_text(meta, search, t.table).as_bytes())?;
                out.write_all(b"\n")?;
            }
        }
        Ok(())
    };
    let interrupted = report.stopped == Some(engine::Stopped::Interrupted);
    if let Some(code) = deliver(args.output.as_deref(), interrupted, &render)? {
        return Ok(code);
    }
    let unread = say_unreadable(&cat);
    Ok(if report.summary.failed.is_empty() && unread == 0 { 0 } else { 2 })
}

/// Says on stderr how many detections compiled and run.
fn say_compiled(compiled: usize, found: usize) {
    let refused = found - compiled;
    let rest = match refused {
        0 => String::new(),
        n => format!("; {n} did not compile (`tsreplay catalog` gives the reasons)"),
    };
    let _ = writeln!(
        std::io::stderr(),
        "tsreplay: {compiled} of {found} detections compiled and run in one pass{rest}"
    );
}

/// The summary of a one-rule run on stderr (only the failures with `quiet`).
fn print_summary(summary: &tsreplay::output::stats::Summary, quiet: bool) {
    let text = if quiet { summary.render_failures() } else { summary.render() };
    // A summary that cannot be written (stderr closed or full) is not worth a panic.
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// The run summary of a rule set, with the rules that returned rows and the busiest ones.
fn print_set_summary(names: &[&str], report: &engine::SetReport, quiet: bool) {
    if quiet {
        let _ = std::io::stderr().lock().write_all(report.summary.render_failures().as_bytes());
        return;
    }
    let with_rows = report.rules.iter().filter(|r| !r.table.rows.is_empty()).count();
    let mut summary = report.summary.render();
    summary.push_str(&format!("  rules with rows:         {with_rows} of {}\n", names.len()));
    summary.push_str(&busiest_rules(names, report));
    let _ = std::io::stderr().lock().write_all(summary.as_bytes());
}

/// Each compiled rule's finding metadata and its search as written (drilldowns quote the
/// original search). A rule whose `finding:` block is malformed fails the run, as with
/// `--rule`.
fn finding_metas(
    cat: &tsreplay::catalog::Catalog,
) -> Result<Vec<(tsreplay::spl::meta::Meta, String)>, Error> {
    let mut out = Vec::new();
    for (entry, _) in cat.compiled() {
        let Some(det) = &entry.detection else { continue };
        out.push((det.meta()?, det.search.clone()));
    }
    Ok(out)
}

/// The rules that matched the most events, which cost the most time.
fn busiest_rules(names: &[&str], report: &engine::SetReport) -> String {
    let mut by: Vec<(u64, &str, usize)> = names
        .iter()
        .zip(&report.rules)
        .map(|(name, o)| (o.matched, *name, o.table.rows.len()))
        .filter(|(m, ..)| *m > 0)
        .collect();
    by.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let mut out = String::new();
    for (matched, name, rows) in by.into_iter().take(5) {
        let name = write::visible(name);
        out.push_str(&format!(
            "  most matched:            {matched} events, {rows} rows: {name}\n"
        ));
    }
    out
}

/// Tells what an interrupted run left: a partial table on stdout, or no `-o` file.
fn say_interrupted(output: Option<&std::path::Path>, during_read: bool, during_write: bool) {
    if during_read && output.is_some() {
        return; // Said before the output step.
    }
    let what = match (output, during_write) {
        (Some(p), true) => format!("{} was not written (the table would be partial)", p.display()),
        (None, true) => "the rows printed stop at a row boundary; the rest were not written".into(),
        _ => "the table covers only the records read before the signal".into(),
    };
    let _ = writeln!(std::io::stderr(), "tsreplay: interrupted: {what}");
}

/// The exit status of a run stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report).
const INTERRUPTED: u8 = 130;

/// Whether results are being written: a second signal then waits for the row boundary.
static WRITING: AtomicBool = AtomicBool::new(false);

/// The flag Ctrl-C and SIGTERM set. The first signal stops the run at the next record (and
/// the writers at the next row); a second one ends the process at once, unless results are
/// being written, where the row in progress is finished first.
fn interrupt_flag() -> Arc<AtomicBool> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        write::stop_on(flag.clone());
        let sigs = [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM];
        match signal_hook::iterator::Signals::new(sigs) {
            Ok(mut signals) => {
                let seen = flag.clone();
                std::thread::spawn(move || {
                    for _ in signals.forever() {
                        if seen.swap(true, Ordering::SeqCst) && !WRITING.load(Ordering::SeqCst) {
                            std::process::exit(i32::from(INTERRUPTED));
                        }
                    }
                });
            }
            Err(e) => log::debug!("signals: not caught ({e}); Ctrl-C ends the run at once"),
        }
        flag
    })
    .clone()
}

fn compare(args: CompareArgs) -> Result<u8, Error> {
    let splunk = compare::export::read(&args.splunk)?;
    let job = read_job(&args.check, &splunk)?;
    let (_, compiled, report) = replay(&args.replay)?;
    let files = report.summary.files.len();
    let ours = format!("replayed over {files} file{}", if files == 1 { "" } else { "s" });
    let speed = job.map(|job| compare::report::Speed {
        seconds: report.summary.seconds,
        records: report.summary.stats.records,
        job,
    });
    let ctx = compare::report::Context {
        command: "compare",
        ours,
        splunk: describe_export(&args.splunk, &splunk),
        show: args.check.show,
        speed,
        notes: export_notes(&[&splunk]),
    };
    if report.stopped == Some(engine::Stopped::Interrupted) {
        let _ = writeln!(std::io::stderr(), "tsreplay compare: interrupted: nothing compared");
        return Ok(INTERRUPTED);
    }
    let profile = compiled.mapper.profile();
    let code = check_tables(&report.table, &splunk.table, profile, &args.check, ctx)?;
    if !report.summary.failed.is_empty() {
        let _ = writeln!(std::io::stderr(), "tsreplay compare: some inputs were not read (exit 2)");
        return Ok(2);
    }
    Ok(code)
}

fn diff(args: DiffArgs) -> Result<u8, Error> {
    let ours = compare::export::read(&args.ours)?;
    let splunk = compare::export::read(&args.splunk)?;
    let job = read_job(&args.check, &splunk)?;
    let profile = load_profile(args.profile.as_deref())?;
    let ctx = compare::report::Context {
        command: "diff",
        ours: describe_export(&args.ours, &ours),
        splunk: describe_export(&args.splunk, &splunk),
        show: args.check.show,
        speed: None,
        notes: export_notes(&[&ours, &splunk]),
    };
    if job.is_some() {
        let _ = writeln!(
            std::io::stderr(),
            "tsreplay diff: job statistics need tsreplay's own time; use compare for the ratio"
        );
    }
    check_tables(&ours.table, &splunk.table, &profile, &args.check, ctx)
}

fn test(args: TestArgs) -> Result<u8, Error> {
    let macros = load_macros(&args.macros)?;
    let profile = load_profile(args.profile.as_deref())?;
    if !args.data_dir.is_dir() {
        return Err(Error::Usage(UsageError::DataDirNotFolder(args.data_dir.clone())));
    }
    let setup = harness::Setup {
        macros: &macros,
        profile: &profile,
        data_dir: args.data_dir.clone(),
        threads: usize::from(args.threads),
        strict: args.strict,
    };
    let mut names = harness::NameIndex::default();
    let mut outcomes = Vec::new();
    let (files, not_detections) = harness::detection_files(&args.detections);
    for file in files {
        outcomes.extend(harness::run_file(&file, &setup, &mut names));
    }
    print_stdout(harness::render(&outcomes, &not_detections).as_bytes())?;
    if let Some(path) = &args.junit {
        let xml = harness::junit::render(&outcomes).map_err(Error::Junit)?;
        std::fs::write(path, xml).map_err(|e| Error::WriteFile(path.clone(), e))?;
    }
    let all_passed =
        !outcomes.is_empty() && outcomes.iter().all(|o| matches!(o.status, harness::Status::Pass));
    Ok(if all_passed { 0 } else { 1 })
}

/// Warnings about how result files were read.
fn export_notes(exports: &[&compare::export::Export]) -> Vec<String> {
    exports
        .iter()
        .filter(|e| e.invalid_utf8)
        .map(|e| {
            format!(
                "a {} file held invalid UTF-8, read as U+FFFD: values that differ only there \
                 compare equal",
                e.kind.name()
            )
        })
        .collect()
}

/// A result file's path and shape, for the report.
fn describe_export(path: &std::path::Path, e: &compare::export::Export) -> String {
    match e.empty_file {
        true => format!("{}, empty file: read as a search that found nothing", path.display()),
        false => format!("{}, {}", path.display(), e.kind.name()),
    }
}

/// Splunk's job statistics: from --job, else from the export itself.
fn read_job(
    check: &CheckArgs,
    splunk: &compare::export::Export,
) -> Result<Option<compare::export::JobStats>, Error> {
    match &check.job {
        Some(path) => Ok(Some(compare::export::read_job(path)?)),
        None => Ok(splunk.job.clone()),
    }
}

/// Compares, prints the report, writes the suggested profile; 0 equal, 1 different.
fn check_tables(
    ours: &output::ResultTable,
    splunk: &output::ResultTable,
    profile: &Profile,
    check: &CheckArgs,
    ctx: compare::report::Context,
) -> Result<u8, Error> {
    let opts = compare::Options { key: check.key.clone(), near: check.near };
    let cmp = compare::compare(ours, splunk, &opts)?;
    let hints = compare::hints::find(&cmp, profile);
    print_stdout(compare::report::render(&cmp, &hints, &ctx).as_bytes())?;
    if let Some(path) = &check.suggest_profile {
        // Written even when empty, so that an older file is never taken for this run's.
        let text = compare::report::suggested_profile(&hints).unwrap_or_else(|| {
            let _ = writeln!(std::io::stderr(), "tsreplay: no profile line to suggest");
            "# Suggested by tsreplay compare: no profile line to suggest\n".to_string()
        });
        std::fs::write(path, text).map_err(|e| Error::WriteFile(path.clone(), e))?;
    }
    Ok(if cmp.is_equal() { 0 } else { 1 })
}

/// Writes to stdout; a closed pipe (`| head`) ends the output quietly.
fn print_stdout(bytes: &[u8]) -> Result<(), Error> {
    write_stdout(|out| out.write_all(bytes))
}

/// Streams output to stdout through a buffer; a closed pipe ends the output quietly.
fn write_stdout(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<(), Error> {
    write_stdout_raw(write).map_err(Error::Output)
}

/// `write_stdout`, keeping the I/O error (an `Interrupted` one tells a stop at a row).
fn write_stdout_raw(
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let result = write(&mut out);
    // Whole rows already written are flushed, also when the writer stopped at a row.
    let flushed = out.flush();
    match result.and(flushed) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// The progress bar on stderr: bytes done, events per second and time left. Shown only on a
/// terminal, and not with `--quiet`.
struct Bar {
    bar: indicatif::ProgressBar,
    records: std::sync::atomic::AtomicU64,
    started: std::time::Instant,
}

impl Bar {
    fn new() -> Bar {
        let bar = indicatif::ProgressBar::hidden();
        let style = indicatif::ProgressStyle::with_template(
            "{bar:30} {bytes}/{total_bytes} {msg} ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        Bar { bar, records: Default::default(), started: std::time::Instant::now() }
    }
}

impl engine::Progress for Bar {
    fn start(&self, total: u64) {
        self.bar.set_length(total);
        self.bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    }

    fn advance(&self, bytes: u64, records: u64) {
        let done = self.records.fetch_add(records, Ordering::Relaxed) + records;
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        self.bar.set_message(format!("{:.0} events/s", done as f64 / secs));
        self.bar.inc(bytes);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        let ours = m.target().starts_with("tsreplay");
        m.level() <= log::max_level() && (ours || VERBOSE_DEPS.load(Ordering::Relaxed))
    }

    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            let level = r.level().as_str().to_lowercase();
            let _ = writeln!(std::io::stderr(), "tsreplay {level}: {}", r.args());
        }
    }

    fn flush(&self) {}
}

/// Whether dependencies' logs are shown too (`-vvv`).
static VERBOSE_DEPS: AtomicBool = AtomicBool::new(false);

fn init_logging(verbose: u8) {
    VERBOSE_DEPS.store(verbose >= 3, Ordering::Relaxed);
    let level = match verbose {
        0 => log::LevelFilter::Warn,
        1 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    };
    if log::set_logger(&StderrLog).is_ok() {
        log::set_max_level(level);
    }
}
