//! The only place that wires the stages together.
//!
//! Compile once: detection → `plan` → `cim::Mapper`, `prefilter::Prefilter`, projection. Run:
//! `input` files → chunks → rayon workers, each with its own `GroupTable` and `Stats`; per
//! record: prefilter on raw bytes → `event` extraction of the projected fields → `cim` mapping
//! → `eval` → `group`. The tables and counters merge at the end and `output` renders them.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use rayon::prelude::*;

use crate::cim::{mapping, Mapper, Profile, Unmapped};
use crate::event::json::{self, JsonSkip};
use crate::event::xml::{self, Extracted};
use crate::event::{Projection, RawEvent};
mod distributed;

pub use distributed::{finish_partial, run_split};

use crate::exchange::{Body, Manifest, RuleStamp, Stamp};
use crate::group::Dropped;
use crate::input::evtx::{self as evtx_input, Item};
use crate::input::frame::{self, XmlItem};
use crate::input::{self, Format, InputFile, Opened};
use crate::output::explain::{self, Decisions};
use crate::output::stats::{Issue, Location, Summary, Unit};
use crate::output::{self, ResultTable};
use crate::plan::{self, Plan};
use crate::prefilter::{Prefilter, SetFilter};
use crate::schema::{RecordFormat, SourceKind};
use crate::spl::{CompileError, Detection, MacroTable};

/// The most files one run reads: each is mapped, and the kernel's map count (65,530 by
/// default) must leave room for thread stacks and the allocator.
pub const MAX_FILES: usize = 60_000;

/// Default chunk size for text inputs.
pub const DEFAULT_CHUNK: usize = 4 << 20;

/// A rule compiled for running.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The plan.
    pub plan: Plan,
    /// The profile bound to the plan's fields.
    pub mapper: Mapper,
    /// The raw-byte prefilter.
    pub prefilter: Prefilter,
    /// Which raw fields each source extracts.
    pub projection: Projection,
}

/// Compiles `det` with `macros` and `profile`.
pub fn compile(
    det: &Detection,
    macros: &MacroTable,
    profile: Profile,
) -> Result<Compiled, CompileError> {
    let plan = plan::compile(det, macros)?;
    let mapper = Mapper::new(profile, &plan.fields, &[plan.dataset]);
    let prefilter = Prefilter::build(&plan, &|fmt, f| mapper.origin(fmt, f));
    let projection = mapper.projection();
    log::debug!(
        "compile: rule `{}` v{}: {} CIM fields, {} BY fields, profile {}",
        plan.name,
        plan.version,
        plan.fields.len(),
        plan.by.len(),
        mapper.profile().origin
    );
    for format in RecordFormat::ALL {
        match prefilter.literals(format) {
            Some(lits) => log::debug!("compile: prefilter for {}: {lits:?}", format.name()),
            None => {
                log::debug!("compile: no prefilter for {}: every record is parsed", format.name())
            }
        }
    }
    Ok(Compiled { plan, mapper, prefilter, projection })
}

/// Rules that run together in one pass over the input.
///
/// # Design
/// The rules' plans are re-addressed into one list of CIM fields (the fields some filter
/// reads first), so a record is parsed once with the union projection and mapped once; each
/// candidate rule then evaluates its own filter on the same event and groups into its own
/// table.
#[derive(Debug, Clone)]
pub struct RuleSet {
    /// The rules, in the order their results are reported.
    pub rules: Vec<Compiled>,
    mapper: Mapper,
    projection: Projection,
    filter: SetFilter,
    filter_fields: usize,
    /// The data sets the rules read, and per rule the index of its own (compared per event
    /// and candidate rule, so an index rather than the name).
    datasets: Vec<&'static str>,
    rule_dataset: Vec<usize>,
}

impl RuleSet {
    /// Combines rules compiled with the same profile.
    pub fn new(mut rules: Vec<Compiled>) -> RuleSet {
        let mut union: Vec<&'static str> = Vec::new();
        for r in &rules {
            for f in r.plan.filter_field_names() {
                if !union.contains(f) {
                    union.push(f);
                }
            }
        }
        let filter_fields = union.len();
        for r in &rules {
            for f in &r.plan.fields {
                if !union.contains(f) {
                    union.push(f);
                }
            }
        }
        let profile =
            rules.first().map_or_else(Profile::default_profile, |r| r.mapper.profile().clone());
        for r in rules.iter_mut() {
            r.plan.remap_fields(&union, filter_fields);
        }
        let mut datasets: Vec<&'static str> = rules.iter().map(|r| r.plan.dataset).collect();
        datasets.sort_unstable();
        datasets.dedup();
        let mapper = Mapper::new(profile, &union, &datasets);
        let projection = mapper.projection();
        // One rule keeps its own check (see `candidates`): no set automaton is built.
        let filters: Vec<&Prefilter> =
            if rules.len() > 1 { rules.iter().map(|r| &r.prefilter).collect() } else { Vec::new() };
        let filter = SetFilter::build(&filters);
        log::debug!(
            "compile: rule set of {} rules over {} CIM fields ({} read by filters)",
            rules.len(),
            union.len(),
            filter_fields
        );
        let rule_dataset = rules
            .iter()
            .map(|r| datasets.iter().position(|d| *d == r.plan.dataset).expect("listed"))
            .collect();
        RuleSet { rules, mapper, projection, filter, filter_fields, datasets, rule_dataset }
    }

    /// The stamp of partials this set makes over `manifest`.
    pub fn stamp(&self, manifest: &Manifest) -> Stamp {
        let rules = self
            .rules
            .iter()
            .map(|r| RuleStamp {
                name: r.plan.name.clone(),
                id: r.plan.id.clone(),
                version: r.plan.version.clone(),
                search: r.plan.search.clone(),
            })
            .collect();
        let profile = self.mapper.profile();
        let sections = format!("{:?}", profile.sections);
        Stamp {
            tsreplay: env!("CARGO_PKG_VERSION").to_string(),
            manifest: manifest.id.clone(),
            splits: manifest.splits.len() as u32,
            files: manifest.files.iter().map(|f| f.path.clone()).collect(),
            unread: manifest.unread.clone(),
            catalog: None,
            profile: (profile.origin.clone(), crate::exchange::digest(&sections)),
            rules,
        }
    }

    /// The rules whose prefilter keeps `record`, into `out`.
    fn candidates(&self, format: RecordFormat, record: &[u8], w: &mut Scratch) {
        w.candidates.clear();
        if let [only] = self.rules.as_slice() {
            // One rule keeps its own check (the measured fast path for a few literals).
            if only.prefilter.may_match(format, record) {
                w.candidates.push(0);
            }
            return;
        }
        self.filter.candidates(format, record, &mut w.seen, &mut w.candidates);
    }

    fn evtx_chunk_may_match(&self, chunk: &[u8]) -> bool {
        match self.rules.as_slice() {
            [only] => only.prefilter.evtx_chunk_may_match(chunk),
            _ => self.filter.evtx_chunk_may_match(chunk),
        }
    }
}

/// The `explain` text of a compiled rule.
pub fn explain(c: &Compiled) -> String {
    let literals = RecordFormat::ALL.iter().map(|f| (*f, c.prefilter.literals(*f))).collect();
    let evtx_chunks = c.prefilter.evtx_literals();
    let sources = crate::cim::profile::SECTIONS
        .iter()
        .map(|(name, kind, xml)| {
            let what = format!(
                "{}, {}",
                mapping::describe_kind(*kind),
                if *xml { "XML/EVTX" } else { "JSON" }
            );
            let fields =
                c.projection.wanted(*kind, *xml).map(<[String]>::to_vec).unwrap_or_default();
            (name.to_string(), what, fields)
        })
        .collect();
    let profile = c.mapper.profile().origin.clone();
    let d = Decisions { literals, evtx_chunks, sources, profile };
    explain::render(&c.plan, &d)
}

/// Receives the run's progress, in input bytes (a progress bar, say).
pub trait Progress: Send + Sync {
    /// The run starts; `total` bytes will be read.
    fn start(&self, total: u64);
    /// `bytes` more were read, holding `records` more records.
    fn advance(&self, bytes: u64, records: u64);
    /// The run is over.
    fn finish(&self);
}

/// How to run.
#[derive(Clone)]
pub struct Options {
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Target chunk size for text inputs.
    pub chunk_size: usize,
    /// Whether the prefilter is used (off only to check it).
    pub prefilter: bool,
    /// The output time zone.
    pub tz: jiff::tz::TimeZone,
    /// A format forced on every input (`--sourcetype`).
    pub forced: Option<Format>,
    /// Formats forced on single input paths (a test's sourcetype per file), before `forced`.
    pub forced_paths: Vec<(PathBuf, Format)>,
    /// Where progress goes, if anywhere.
    pub progress: Option<std::sync::Arc<dyn Progress>>,
    /// The most groups the workers' tables may hold together (each worker keeps its own
    /// table, so a group seen by two workers counts twice: this bounds memory).
    pub max_groups: usize,
    /// Set from outside (Ctrl-C) to stop the run early.
    pub interrupt: Option<std::sync::Arc<AtomicBool>>,
}

/// Why a run stopped before the end of its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The group tables reached `max_groups`.
    MaxGroups(usize),
    /// The interrupt flag was set.
    Interrupted,
}

/// The default `max_groups` for a rule with `by_fields` BY fields: a quarter of the memory
/// available at start, at an estimated 64 bytes a group plus 120 a field (measured: 2.3 KiB
/// for 20-field groups, 336 bytes for 2-field ones), and at least 100,000.
pub fn default_max_groups(by_fields: usize) -> usize {
    let available = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        let line = m.lines().find(|l| l.starts_with("MemAvailable:"))?;
        line.split_whitespace().nth(1)?.parse::<usize>().ok()
    });
    let bytes = available.unwrap_or(4 << 20).saturating_mul(1024);
    (bytes / 4 / (64 + 120 * by_fields.max(1))).max(100_000)
}

impl Default for Options {
    fn default() -> Options {
        Options {
            threads: 0,
            chunk_size: DEFAULT_CHUNK,
            prefilter: true,
            tz: jiff::tz::TimeZone::UTC,
            forced: None,
            forced_paths: Vec::new(),
            progress: None,
            max_groups: usize::MAX,
            interrupt: None,
        }
    }
}

/// What one rule of a set produced.
#[derive(Debug)]
pub struct RuleOutcome {
    /// The rows.
    pub table: ResultTable,
    /// Events that passed the rule's filter.
    pub matched: u64,
    /// Of those, events dropped for a missing BY field.
    pub dropped_missing_by: u64,
}

/// What a run of a rule set produced.
#[derive(Debug)]
pub struct SetReport {
    /// One outcome per rule, in the set's order.
    pub rules: Vec<RuleOutcome>,
    /// The counters and file lists (matches summed over the rules).
    pub summary: Summary,
    /// Set when the run stopped before the end of its input: the tables are then partial.
    pub stopped: Option<Stopped>,
}

/// What a run produced.
#[derive(Debug)]
pub struct Report {
    /// The rows.
    pub table: ResultTable,
    /// The counters and file lists.
    pub summary: Summary,
    /// Set when the run stopped before the end of its input: the table is then partial.
    pub stopped: Option<Stopped>,
}

enum Job {
    Text {
        file: usize,
        range: std::ops::Range<usize>,
    },
    Evtx {
        file: usize,
    },
    /// Some chunks of an EVTX file (a split's share).
    EvtxChunks {
        file: usize,
        chunks: std::ops::Range<u64>,
    },
}

struct Ctx<'r> {
    set: &'r RuleSet,
    files: &'r [InputFile],
    prefilter: bool,
    progress: Option<&'r dyn Progress>,
    /// Groups in all workers' tables together.
    groups: AtomicUsize,
    max_groups: usize,
    /// Set when the run must stop (group budget reached, or interrupted).
    stop: AtomicBool,
    interrupt: Option<&'r AtomicBool>,
}

impl Ctx<'_> {
    /// Whether workers should stop reading (checked once per record).
    fn stopping(&self) -> bool {
        if self.stop.load(Ordering::Relaxed) {
            return true;
        }
        if self.interrupt.is_some_and(|i| i.load(Ordering::Relaxed)) {
            self.stop.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// Why the run stopped, if it did.
    fn stopped(&self) -> Option<Stopped> {
        if self.interrupt.is_some_and(|i| i.load(Ordering::Relaxed)) {
            return Some(Stopped::Interrupted);
        }
        let over = self.groups.load(Ordering::Relaxed) > self.max_groups;
        over.then_some(Stopped::MaxGroups(self.max_groups))
    }
}

/// Per-record working memory of a worker.
#[derive(Default)]
struct Scratch {
    /// The candidate rules of the current record.
    candidates: Vec<usize>,
    /// One flag per rule, all false between records.
    seen: Vec<bool>,
}

/// A worker's state: the results it has grouped (a `Body`, the unit partials are made of)
/// and its reused buffers.
#[derive(Default)]
struct Worker {
    body: Body,
    buf: Vec<u8>,
    json: simd_json::Buffers,
    scratch: Scratch,
}

impl Worker {
    fn new(rules: usize) -> Worker {
        Worker {
            body: Body::new(rules),
            scratch: Scratch { candidates: Vec::new(), seen: vec![false; rules] },
            ..Worker::default()
        }
    }

    fn merge(mut self, other: Worker) -> Worker {
        self.body.merge(other.body);
        self
    }
}

/// Replays the rule over `paths`.
pub fn run(rule: &Compiled, paths: &[PathBuf], opts: &Options) -> Report {
    let set = RuleSet::new(vec![rule.clone()]);
    let mut r = run_set(&set, paths, opts);
    let table = r.rules.pop().map(|o| o.table).unwrap_or_default();
    Report { table, summary: r.summary, stopped: r.stopped }
}

/// Replays every rule of `set` over `paths` in one pass: every file is read whole into one
/// `Body` (as `run_split` reads one split), which `finish_body` turns into rows (as
/// `finish_partial` does for a merge of partials).
pub fn run_set(set: &RuleSet, paths: &[PathBuf], opts: &Options) -> SetReport {
    let started = Instant::now();
    let (files, streams, summary) = open_inputs(paths, opts);
    let jobs = plan_jobs(&files, opts.chunk_size);
    let pool = thread_pool(opts.threads);
    let (body, stopped) = read_parts(set, &files, streams, &jobs, opts, &pool);
    let plans: Vec<&Plan> = set.rules.iter().map(|r| &r.plan).collect();
    let mut report = finish_body(&plans, body, summary, &opts.tz, &pool);
    report.summary.seconds = started.elapsed().as_secs_f64();
    report.stopped = stopped;
    if let Some(why) = stopped {
        log::debug!("engine: stopped before the end of the input: {why:?}");
    }
    report
}

/// Reads the `jobs` of `files`, then every stream, into one body; says why reading stopped
/// early, if it did.
fn read_parts(
    set: &RuleSet,
    files: &[InputFile],
    streams: Vec<input::StreamInput>,
    jobs: &[Job],
    opts: &Options,
    pool: &rayon::ThreadPool,
) -> (Body, Option<Stopped>) {
    let progress = opts.progress.as_deref();
    if let Some(p) = progress {
        p.start(files.iter().map(|f| f.data().len() as u64).sum());
    }
    let ctx = Ctx {
        set,
        files,
        prefilter: opts.prefilter,
        progress,
        groups: AtomicUsize::new(0),
        max_groups: opts.max_groups,
        stop: AtomicBool::new(false),
        interrupt: opts.interrupt.as_deref(),
    };
    let mut worker = pool.install(|| run_jobs(&ctx, jobs));
    if worker.body.tables.is_empty() {
        worker = Worker::new(set.rules.len());
    }
    for (i, s) in streams.into_iter().enumerate() {
        let path = s.path.clone();
        let before = (path.as_os_str() != "-" && path.is_file())
            .then(|| input::Snapshot::of(&path))
            .flatten();
        let (w, failure) = run_stream(&ctx, pool, s, files.len() + i, opts.chunk_size);
        worker = worker.merge(w);
        worker.body.failed.extend(failure);
        if let Some(change) = before.and_then(|b| input::changed_since(&path, b, false)) {
            record_change(path, &change, &mut worker.body);
        }
    }
    if let Some(p) = progress {
        p.finish();
    }
    note_changes(files, &mut worker.body);
    (worker.body, ctx.stopped())
}

/// Turns a body into each rule's rows, with `summary` completed from its counters: the last
/// step of a local run and of a distributed one alike.
fn finish_body(
    plans: &[&Plan],
    mut body: Body,
    mut summary: Summary,
    tz: &jiff::tz::TimeZone,
    pool: &rayon::ThreadPool,
) -> SetReport {
    // Each rule's table is finished on its own, so the rules share the pool.
    let tables = std::mem::take(&mut body.tables);
    let rules: Vec<RuleOutcome> = pool.install(|| {
        plans
            .par_iter()
            .zip(tables)
            .zip(&body.counts)
            .map(|((plan, table), &(matched, dropped_missing_by))| {
                if table.len() > 10_000 {
                    log::debug!("engine: rule `{}` holds {} groups", plan.name, table.len());
                }
                let table = output::finish(plan, table.into_sorted(), tz);
                RuleOutcome { table, matched, dropped_missing_by }
            })
            .collect()
    });
    summary.stats = body.stats;
    summary.failed.extend(body.failed);
    summary.changed.extend(body.changed);
    summary.rows = rules.iter().map(|r| r.table.rows.len()).sum();
    summary.seconds = body.seconds;
    SetReport { rules, summary, stopped: None }
}

/// Walks the paths and opens each file: mapped files, streams, and the summary so far
/// (paths not read, empty files, repeats, loops).
fn open_inputs(
    paths: &[PathBuf],
    opts: &Options,
) -> (Vec<InputFile>, Vec<input::StreamInput>, Summary) {
    let found = input::discover(paths);
    let mut summary =
        Summary { repeated_paths: found.repeats, loops: found.loops, ..Summary::default() };
    summary.failed.extend(found.errors.into_iter().map(|e| (e.path, e.reason)));
    let mut found_files = found.files;
    if found_files.len() > MAX_FILES {
        let reason = format!(
            "not read: one run reads at most {MAX_FILES} files (each is mapped); give the rest \
             as another run"
        );
        for p in found_files.split_off(MAX_FILES) {
            summary.failed.push((p, reason.clone()));
        }
    }
    let (mut files, mut streams) = (Vec::new(), Vec::new());
    for path in found_files {
        let forced = opts.forced_paths.iter().find(|(p, _)| *p == path).map(|(_, f)| *f);
        match input::open(&path, forced.or(opts.forced), opts.chunk_size) {
            Opened::File(f) => files.push(f),
            Opened::Stream(s) => streams.push(s),
            Opened::Empty(p) => summary.empty.push(p),
            Opened::Failed(e) => summary.failed.push((e.path, e.reason)),
        }
    }
    summary.files = files.iter().map(|f| f.path.clone()).collect();
    summary.files.extend(streams.iter().map(|s| s.path.clone()));
    (files, streams, summary)
}

fn thread_pool(threads: usize) -> rayon::ThreadPool {
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool,
        Err(e) => {
            log::debug!("engine: thread pool not built ({e}); one thread");
            rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("one thread starts")
        }
    }
}

/// Files that changed while the run read them: a possible loss makes the file failed (exit
/// status 2); growth and replacement are notes.
fn note_changes(files: &[InputFile], body: &mut Body) {
    for f in files {
        if let Some(change) = f.changed() {
            record_change(f.path.clone(), &change, body);
        }
    }
}

fn record_change(path: PathBuf, change: &input::Changed, body: &mut Body) {
    use input::Changed;
    let what = match change {
        Changed::CutWhileRead { was, now } => format!(
            "was cut while it was read ({was} bytes at open, {now} now): the bytes past the cut \
             read as zeros (counted as damaged text), so records there were lost; rows from \
             the records before stand"
        ),
        Changed::Shrank { was, now } => format!(
            "shrank from {was} to {now} bytes during the run: records past byte {now} may not \
             have been read"
        ),
        Changed::Rewritten => "was rewritten during the run (same size, newer time): the rows \
             may mix old and new content"
            .to_string(),
        Changed::Grew { was, now } => {
            format!("grew from {was} to {now} bytes; the bytes past {was} were not read")
        }
        Changed::Replaced => "another file took its name during the run; the file opened was \
             read as it was"
            .to_string(),
    };
    match change.is_loss() {
        true => body.failed.push((path, what)),
        false => body.changed.push((path, what)),
    }
}

fn plan_jobs(files: &[InputFile], chunk_size: usize) -> Vec<Job> {
    let mut jobs = Vec::new();
    for (i, f) in files.iter().enumerate() {
        match f.format {
            Format::Evtx => jobs.push(Job::Evtx { file: i }),
            format => {
                for range in frame::split(f.data(), format, chunk_size) {
                    jobs.push(Job::Text { file: i, range });
                }
            }
        }
    }
    log::trace!(
        "engine: {} files in {} jobs, chunk target {chunk_size} bytes",
        files.len(),
        jobs.len()
    );
    jobs
}

fn run_jobs(ctx: &Ctx<'_>, jobs: &[Job]) -> Worker {
    jobs.par_iter()
        .fold(
            || Worker::new(ctx.set.rules.len()),
            |mut w, job| {
                process_job(ctx, &mut w, job);
                w
            },
        )
        .reduce(|| Worker::new(ctx.set.rules.len()), Worker::merge)
}

/// Runs one streamed input: a producer thread reads chunks into a bounded channel and every
/// pool thread consumes them with its own worker state. Returns the merged state, and the
/// input as failed when reading stopped on an error.
fn run_stream(
    ctx: &Ctx<'_>,
    pool: &rayon::ThreadPool,
    s: input::StreamInput,
    file: usize,
    chunk_size: usize,
) -> (Worker, Option<(PathBuf, String)>) {
    let threads = pool.current_num_threads();
    let (tx, rx) = crossbeam_channel::bounded::<input::stream::StreamChunk>(2 * threads);
    let done = std::sync::Mutex::new(Vec::with_capacity(threads));
    let format = s.format;
    let path = s.path.clone();
    let stop = || ctx.stopping();
    let stop: &(dyn Fn() -> bool + Sync) = &stop;
    let read = std::thread::scope(|scope| {
        let producer =
            scope.spawn(move || input::stream::produce(s.stream, format, chunk_size, &tx, stop));
        pool.scope(|ps| {
            for _ in 0..threads {
                ps.spawn(|_| {
                    let mut w = Worker::new(ctx.set.rules.len());
                    for chunk in rx.iter() {
                        if ctx.stopping() {
                            // Keep draining so the producer never blocks; it sees the stop
                            // flag before its next read and ends the stream.
                            continue;
                        }
                        let before = (w.body.stats.bytes, w.body.stats.records);
                        text_chunk(ctx, &mut w, file, &chunk.bytes, chunk.base, format);
                        if let Some(p) = ctx.progress {
                            p.advance(
                                w.body.stats.bytes - before.0,
                                w.body.stats.records - before.1,
                            );
                        }
                    }
                    done.lock().unwrap_or_else(|e| e.into_inner()).push(w);
                });
            }
        });
        producer.join()
    });
    let merged = done.into_inner().unwrap_or_else(|e| e.into_inner());
    let worker = merged.into_iter().fold(Worker::new(ctx.set.rules.len()), Worker::merge);
    let failure = match read {
        Ok(Ok(bytes)) => {
            log::debug!("{}: streamed {bytes} bytes", path.display());
            None
        }
        Ok(Err(e)) => Some((path, format!("reading stopped: {e}; the records before were read"))),
        Err(_) => Some((path, "the reader thread failed".to_string())),
    };
    (worker, failure)
}

fn process_job(ctx: &Ctx<'_>, w: &mut Worker, job: &Job) {
    if ctx.stopping() {
        return;
    }
    let (bytes, records) = (w.body.stats.bytes, w.body.stats.records);
    match job {
        Job::Text { file, range } => {
            let f = &ctx.files[*file];
            let base = (f.skip + range.start) as u64;
            text_chunk(ctx, w, *file, &f.data()[range.clone()], base, f.format);
        }
        Job::Evtx { file } => evtx_file(ctx, w, *file, None),
        Job::EvtxChunks { file, chunks } => evtx_file(ctx, w, *file, Some(chunks.clone())),
    }
    if let Some(p) = ctx.progress {
        p.advance(w.body.stats.bytes - bytes, w.body.stats.records - records);
    }
}

/// Reads the records of one text chunk that starts `base` bytes into file `file`.
fn text_chunk(ctx: &Ctx<'_>, w: &mut Worker, file: usize, chunk: &[u8], base: u64, format: Format) {
    w.body.stats.bytes += chunk.len() as u64;
    let loc = |off: usize| Location::byte(file, base + off as u64);
    match format {
        Format::Xml => xml_chunk(ctx, w, chunk, &loc),
        _ => frame::json_lines(chunk, |r| json_line(ctx, w, &chunk[r.clone()], loc(r.start))),
    }
}

fn xml_chunk(ctx: &Ctx<'_>, w: &mut Worker, chunk: &[u8], loc: &dyn Fn(usize) -> Location) {
    frame::xml_items(chunk, |item| match item {
        XmlItem::Record { range, terminated } => {
            if !terminated {
                w.body.stats.issue(Issue::Unterminated, || loc(range.start));
            }
            xml_record(ctx, w, &chunk[range.clone()], true, &|| loc(range.start));
        }
        XmlItem::Gap(range) => w.body.stats.issue(Issue::NonXmlText, || loc(range.start)),
    });
}

fn xml_record(
    ctx: &Ctx<'_>,
    w: &mut Worker,
    bytes: &[u8],
    text_file: bool,
    loc: &dyn Fn() -> Location,
) {
    if ctx.stopping() {
        return;
    }
    w.body.stats.records += 1;
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => Cow::Borrowed(t),
        Err(_) => {
            w.body.stats.issue(Issue::InvalidUtf8, loc);
            String::from_utf8_lossy(bytes)
        }
    };
    let h = xml::header(&text);
    if text_file && h.format == RecordFormat::DumpXml {
        w.body.stats.issue(Issue::DumpRendering, loc);
    }
    w.body.stats.count_kind(h.kind);
    if !select_rules(ctx, w, h.format, text.as_bytes()) {
        w.body.stats.prefiltered += 1;
        return;
    }
    match xml::extract(&text, h, &ctx.set.projection) {
        Some(Extracted::Event(raw)) => event(ctx, w, &raw, loc),
        Some(Extracted::EventDataCut) => w.body.stats.issue(Issue::EventDataCut, loc),
        None => {}
    }
}

fn json_line(ctx: &Ctx<'_>, w: &mut Worker, bytes: &[u8], at: Location) {
    if ctx.stopping() {
        return;
    }
    w.body.stats.records += 1;
    let loc = || at.clone();
    let rejected = !select_rules(ctx, w, RecordFormat::Json, bytes);
    // A line that is not shaped like an object is parsed in full even when rejected, so that
    // malformed lines are counted whatever the rule.
    if rejected && looks_like_object(bytes) {
        w.body.stats.prefiltered += 1;
        w.body.stats.count_kind(json::sniff_kind(bytes));
        return;
    }
    let mut buf = std::mem::take(&mut w.buf);
    buf.clear();
    match std::str::from_utf8(bytes) {
        Ok(_) => buf.extend_from_slice(bytes),
        Err(_) => {
            w.body.stats.issue(Issue::InvalidUtf8, loc);
            buf.extend_from_slice(String::from_utf8_lossy(bytes).as_bytes());
        }
    }
    if json::repair_lone_surrogates(&mut buf) > 0 {
        w.body.stats.issue(Issue::InvalidUtf8, loc);
    }
    match json::parse_with(&mut buf, &ctx.set.projection, &mut w.json) {
        Ok(parsed) => {
            w.body.stats.count_kind(parsed.kind);
            if let Some(raw) = parsed.event {
                event(ctx, w, &raw, &loc);
            }
        }
        Err(JsonSkip::Invalid) => w.body.stats.issue(Issue::InvalidJson, loc),
        Err(JsonSkip::NotObject) => w.body.stats.issue(Issue::JsonNotObject, loc),
        Err(JsonSkip::TooDeep) => w.body.stats.issue(Issue::JsonTooDeep, loc),
    }
    w.buf = buf;
}

/// Whether a line starts with `{` and ends with `}` (whitespace aside).
fn looks_like_object(line: &[u8]) -> bool {
    let first = line.iter().find(|b| !b.is_ascii_whitespace());
    let last = line.iter().rev().find(|b| !b.is_ascii_whitespace());
    first == Some(&b'{') && last == Some(&b'}')
}

/// Reads an EVTX file, or only the chunks `chunks` of it.
fn evtx_file(ctx: &Ctx<'_>, w: &mut Worker, file: usize, chunks: Option<std::ops::Range<u64>>) {
    let data = ctx.files[file].data();
    w.body.stats.bytes += match &chunks {
        None => data.len() as u64,
        Some(c) => evtx_chunk_bytes(data.len(), c),
    };
    let at = |offset: u64, unit: Unit, detail: String| Location { file, offset, unit, detail };
    let keep = |chunk: &[u8]| ctx.set.evtx_chunk_may_match(chunk);
    let keep: Option<evtx_input::ChunkFilter<'_>> = ctx.prefilter.then_some(&keep);
    let each = |item| match item {
        Item::Record { record_id, xml } => {
            let loc = || at(record_id, Unit::Record, String::new());
            xml_record(ctx, w, xml.as_bytes(), false, &loc);
        }
        Item::BadRecord { record_id, message } => {
            let id = record_id.unwrap_or(0);
            w.body.stats.issue(Issue::EvtxRecord, || at(id, Unit::Record, message));
        }
        Item::BadChunk { chunk, unused: true } => {
            w.body.stats.issue(Issue::EvtxEmptyChunk, || at(chunk, Unit::Chunk, String::new()));
        }
        Item::BadChunk { chunk, unused: false } => {
            w.body.stats.issue(Issue::EvtxChunk, || at(chunk, Unit::Chunk, String::new()));
        }
        Item::CutChunk { chunk, present } => {
            let detail = format!(
                "{present} of 65536 bytes present; its whole records were read, the cut one not"
            );
            w.body.stats.issue(Issue::EvtxCutChunk, || at(chunk, Unit::Chunk, detail));
        }
        Item::SkippedChunk { records, .. } => {
            w.body.stats.records += records;
            w.body.stats.prefiltered += records;
            w.body.stats.evtx_chunks_skipped += 1;
        }
        Item::NoChunks => {
            w.body.stats.issue(Issue::EvtxNoChunks, || at(0, Unit::Chunk, String::new()))
        }
        Item::BadFile { message } => {
            w.body.stats.issue(Issue::EvtxChunk, || at(0, Unit::Chunk, message));
        }
    };
    match chunks {
        None => evtx_input::read(data, keep, each),
        Some(c) => evtx_input::read_chunks(data, c, keep, each),
    }
}

/// The bytes of chunks `chunks` of an EVTX file of `len` bytes; the first chunk's split also
/// counts the file header.
fn evtx_chunk_bytes(len: usize, chunks: &std::ops::Range<u64>) -> u64 {
    use evtx_input::{CHUNK_SIZE, FILE_HEADER};
    let at = |c: u64| if c == 0 { 0 } else { (FILE_HEADER + c as usize * CHUNK_SIZE).min(len) };
    (at(chunks.end).max(at(chunks.start)) - at(chunks.start)) as u64
}

/// Picks the rules that may match a record into the worker's candidates; false when there
/// is none. With the prefilter off, every rule is a candidate.
fn select_rules(ctx: &Ctx<'_>, w: &mut Worker, format: RecordFormat, bytes: &[u8]) -> bool {
    if ctx.prefilter {
        ctx.set.candidates(format, bytes, &mut w.scratch);
    } else {
        w.scratch.candidates.clear();
        w.scratch.candidates.extend(0..ctx.set.rules.len());
    }
    !w.scratch.candidates.is_empty()
}

/// Maps one event once, then lets every candidate rule filter and group it.
fn event(ctx: &Ctx<'_>, w: &mut Worker, raw: &RawEvent<'_>, loc: &dyn Fn() -> Location) {
    let set = ctx.set;
    let mut cim = match set.mapper.map_first(raw, set.filter_fields) {
        Ok(cim) => cim,
        Err(Unmapped::NoTime) => return w.body.stats.issue(Issue::NoTime, loc),
        Err(Unmapped::NotInDataset) => return,
    };
    if cim.time_fallback && raw.kind == SourceKind::SysmonProcess {
        w.body.stats.issue(Issue::TimeFallback, loc);
    }
    let candidates = std::mem::take(&mut w.scratch.candidates);
    let mut rest_mapped = false;
    let dataset = raw.kind.dataset().and_then(|d| set.datasets.iter().position(|s| *s == d));
    for &r in &candidates {
        let plan = &set.rules[r].plan;
        if Some(set.rule_dataset[r]) != dataset {
            continue;
        }
        if plan.filter.as_ref().is_some_and(|f| !crate::eval::holds(f, &cim)) {
            continue;
        }
        if !rest_mapped {
            set.mapper.map_rest(raw, &mut cim);
            rest_mapped = true;
        }
        group_event(ctx, w, r, &cim);
    }
    w.scratch.candidates = candidates;
}

fn group_event(ctx: &Ctx<'_>, w: &mut Worker, rule: usize, cim: &crate::cim::CimEvent<'_>) {
    w.body.stats.matched += 1;
    w.body.counts[rule].0 += 1;
    let table = &mut w.body.tables[rule];
    let before = table.len();
    if let Err(Dropped::MissingByField) = table.add(&ctx.set.rules[rule].plan, cim) {
        w.body.stats.dropped_missing_by += 1;
        w.body.counts[rule].1 += 1;
    }
    let new = table.len() - before;
    if new > 0 && ctx.groups.fetch_add(new, Ordering::Relaxed) + new > ctx.max_groups {
        ctx.stop.store(true, Ordering::Relaxed);
    }
}
