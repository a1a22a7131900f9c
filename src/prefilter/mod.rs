//! Stage 5: raw-byte rejection before parsing.
//!
//! From a plan's filter it derives, per record format, a set of literals of which every
//! matching record must contain one, and checks records for them with aho-corasick, ASCII case
//! folded as evaluation folds. It may keep a record that fails the rule; it must never drop one
//! that passes:
//! - a literal is taken only from a predicate whose field can hold raw record text and whose
//!   pattern matches none of the field's synthetic values (constants, lookups, `unknown`);
//!   a field whose values are computed (a number rewritten to another base) gives none;
//! - a literal that could straddle text the mapping joins (the 4688 rebuild's space and quote,
//!   a wrap quote) is cut at those bytes, and its longest piece is used;
//! - literals are encoded as the format stores text: XML forwarder text is compared raw; dump
//!   XML and EVTX renderings are compared raw too, but a record holding a numeric entity
//!   falls through, and literals with quotes or braces disable the filter there; JSON literals
//!   are JSON-escaped, and a record holding a `\u` or `\/` escape falls through.
//!
//! It reads only the plan and field origins and must not parse records.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use memchr::memmem;

mod set;

pub use set::SetFilter;

use crate::plan::{Expr, Plan};
use crate::schema::{FieldOrigin, RecordFormat};

/// Past this many literals no automaton is built and every record is parsed: the automaton
/// library's build grows faster than linearly there (measured: 20,000 literals took 10 s,
/// 100,000 took 50 s), and a rule with so many literals is a list, not an indicator.
pub const MAX_LITERALS: usize = 5_000;

/// Literals any match must contain: `None` means any record may match; an empty set means no
/// record can.
type Required = Option<Vec<Vec<u8>>>;

/// The prefilter of one plan.
///
/// # Design
/// One automaton per format, built once. aho-corasick was chosen over one `memmem::Finder`
/// per literal because it folds ASCII case without copying the record and checks all of a
/// rule's alternatives in one pass.
#[derive(Debug, Clone)]
pub struct Prefilter {
    per_format: Vec<(RecordFormat, Check)>,
    /// The check on a raw EVTX chunk: the rendered-record literals as EVTX stores strings.
    evtx_chunk: Check,
}

#[derive(Debug, Clone)]
enum Check {
    /// Every record may match.
    Pass,
    /// No record can match.
    Reject,
    /// A record must contain one of these literals (`encoded`, as the format stores text).
    Literals { finder: Finder, shown: Vec<String>, encoded: Vec<Vec<u8>> },
}

/// Finds any of a set of literals, ASCII case folded.
///
/// # Design
/// When the literals are few, a SIMD (Teddy) searcher looks for every case variant of their
/// first bytes (at most 64 variants) and each candidate is checked in full; measured on
/// generated Sysmon XML, this takes a tenth of the instructions of a case-insensitive
/// aho-corasick automaton, whose rare-byte prefilter keeps stopping on bytes that are common
/// in Windows event XML (`results/`). Otherwise, the automaton.
#[derive(Debug, Clone)]
enum Finder {
    /// Teddy over case variants of each literal's first bytes, then a full check of every
    /// literal that starts with the variant found (`which[pattern]`: several literals can
    /// share a prefix).
    Prefixes {
        teddy: aho_corasick::packed::Searcher,
        literals: Vec<Vec<u8>>,
        which: Vec<Vec<usize>>,
    },
    /// A case-insensitive automaton.
    Automaton(AhoCorasick),
}

impl Finder {
    fn build(literals: &[Vec<u8>]) -> Option<Finder> {
        if let Some(f) = Finder::prefixes(literals) {
            return Some(f);
        }
        if literals.len() > MAX_LITERALS {
            log::debug!(
                "prefilter: {} literals (over {MAX_LITERALS}): no automaton, records are \
                 checked in full",
                literals.len()
            );
            return None;
        }
        // Past a few hundred literals the contiguous forms cost more to build than they save
        // (a 32,000-term IN list took seconds); the plain NFA is cheaper.
        let kind = (literals.len() > 500).then_some(AhoCorasickKind::NoncontiguousNFA);
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(kind)
            .build(literals);
        match ac {
            Ok(ac) => Some(Finder::Automaton(ac)),
            Err(e) => {
                log::debug!("prefilter: automaton not built ({e}); records are checked in full");
                None
            }
        }
    }

    /// Case variants of up to 4 leading bytes of each literal, when they number at most 64.
    fn prefixes(literals: &[Vec<u8>]) -> Option<Finder> {
        let mut variants: Vec<(Vec<u8>, Vec<usize>)> = Vec::new();
        for (i, lit) in literals.iter().enumerate() {
            let head = &lit[..lit.len().min(4)];
            let mut forms: Vec<Vec<u8>> = vec![Vec::new()];
            for &b in head {
                let cases: Vec<u8> = if b.is_ascii_alphabetic() {
                    vec![b.to_ascii_lowercase(), b.to_ascii_uppercase()]
                } else {
                    vec![b]
                };
                forms = forms
                    .iter()
                    .flat_map(|f| cases.iter().map(move |c| [f.as_slice(), &[*c]].concat()))
                    .collect();
            }
            for f in forms {
                match variants.iter_mut().find(|(v, _)| *v == f) {
                    Some((_, owners)) => owners.push(i),
                    None => variants.push((f, vec![i])),
                }
            }
            if variants.len() > 64 {
                return None;
            }
        }
        let mut builder = aho_corasick::packed::Config::new().builder();
        for (v, _) in &variants {
            builder.add(v);
        }
        let teddy = builder.build()?;
        let which = variants.into_iter().map(|(_, owners)| owners).collect();
        Some(Finder::Prefixes { teddy, literals: literals.to_vec(), which })
    }

    fn is_match(&self, hay: &[u8]) -> bool {
        match self {
            Finder::Automaton(ac) => ac.is_match(hay),
            Finder::Prefixes { teddy, literals, which } => {
                // A candidate that fails its full check may overlap a real occurrence, so the
                // search resumes one byte after the candidate, not after its end.
                let mut from = 0;
                while let Some(m) = teddy.find_in(hay, aho_corasick::Span::from(from..hay.len())) {
                    let hit = which[m.pattern().as_usize()].iter().any(|&i| {
                        let lit = &literals[i];
                        let found = hay.get(m.start()..m.start() + lit.len());
                        found.is_some_and(|h| h.eq_ignore_ascii_case(lit))
                    });
                    if hit {
                        return true;
                    }
                    from = m.start() + 1;
                }
                false
            }
        }
    }
}

impl Prefilter {
    /// Derives the prefilter of `plan`, where `origin(format, cim_field)` says where a field's
    /// values come from.
    pub fn build(plan: &Plan, origin: &dyn Fn(RecordFormat, &str) -> FieldOrigin) -> Prefilter {
        let per_format = RecordFormat::ALL
            .iter()
            .map(|&format| {
                let req = match &plan.filter {
                    Some(expr) => required(expr, &|f| origin(format, plan.fields[f])),
                    None => None,
                };
                (format, check_for(format, req))
            })
            .collect();
        let evtx_chunk = match &plan.filter {
            Some(expr) => {
                evtx_check(required(expr, &|f| origin(RecordFormat::DumpXml, plan.fields[f])))
            }
            None => Check::Pass,
        };
        Prefilter { per_format, evtx_chunk }
    }

    /// Whether a raw 64 KiB EVTX chunk may hold a matching record. Strings are stored as
    /// UTF-16LE (or ASCII), so each literal is searched in both forms.
    pub fn evtx_chunk_may_match(&self, chunk: &[u8]) -> bool {
        match &self.evtx_chunk {
            Check::Pass => true,
            Check::Reject => false,
            Check::Literals { finder, .. } => finder.is_match(chunk),
        }
    }

    /// The literals searched in raw EVTX chunks (`None`: chunks are not skipped).
    pub fn evtx_literals(&self) -> Option<Vec<String>> {
        match &self.evtx_chunk {
            Check::Pass => None,
            Check::Reject => Some(Vec::new()),
            Check::Literals { shown, .. } => Some(shown.clone()),
        }
    }

    fn check(&self, format: RecordFormat) -> &Check {
        self.per_format.iter().find(|(f, _)| *f == format).map_or(&Check::Pass, |(_, c)| c)
    }

    /// Whether `record` (raw bytes in `format`) may match the rule.
    pub fn may_match(&self, format: RecordFormat, record: &[u8]) -> bool {
        match self.check(format) {
            Check::Pass => true,
            Check::Reject => false,
            Check::Literals { finder, .. } => {
                finder.is_match(record) || falls_through(format, record)
            }
        }
    }

    /// The literals used for `format` (`None`: no filtering; empty: every record rejected).
    pub fn literals(&self, format: RecordFormat) -> Option<Vec<String>> {
        match self.check(format) {
            Check::Pass => None,
            Check::Reject => Some(Vec::new()),
            Check::Literals { shown, .. } => Some(shown.clone()),
        }
    }
}

fn check_for(format: RecordFormat, req: Required) -> Check {
    let Some(literals) = req else { return Check::Pass };
    if literals.is_empty() {
        return Check::Reject;
    }
    let encoded: Option<Vec<Vec<u8>>> = literals.iter().map(|l| encode(format, l)).collect();
    let Some(encoded) = encoded else { return Check::Pass };
    let shown = encoded.iter().map(|l| String::from_utf8_lossy(l).into_owned()).collect();
    literal_check(encoded, shown)
}

/// A check for any of `encoded` (deduplicated here), shown as `shown`.
fn literal_check(mut encoded: Vec<Vec<u8>>, mut shown: Vec<String>) -> Check {
    encoded.sort();
    encoded.dedup();
    shown.sort();
    shown.dedup();
    match Finder::build(&encoded) {
        Some(finder) => Check::Literals { finder, shown, encoded },
        None => Check::Pass,
    }
}

/// Characters that renderings of typed (non-string) EVTX values can produce: numbers, hex,
/// GUIDs, SIDs, times, booleans (`true`, `false`). A literal made only of these could match the
/// rendering of a binary value, which a search of the raw bytes cannot see.
const TYPED_RENDERING: &[u8] = b"0123456789abcdefxs-{}:.tz +rul";

/// Whether a literal can be searched in raw EVTX chunks soundly:
/// - it holds a character no typed rendering produces, so a match lies in a string value;
/// - it cannot overlap an entity the rendering adds (`&amp;`, `&lt;`, `&gt;`): it holds no `&`
///   or `;`, and is not a piece of `amp`, `lt` or `gt`.
fn evtx_searchable(lit: &[u8]) -> bool {
    let typed = lit.iter().all(|b| TYPED_RENDERING.contains(&b.to_ascii_lowercase()));
    let in_entity = [&b"amp"[..], b"lt", b"gt"].iter().any(|e| memmem::find(e, lit).is_some());
    !typed && !in_entity && !lit.iter().any(|b| matches!(b, b'&' | b';'))
}

/// The chunk check for EVTX: literals searched as UTF-16LE and as ASCII, when every literal is
/// searchable; otherwise chunks are all decoded.
fn evtx_check(req: Required) -> Check {
    let Some(mut literals) = req else { return Check::Pass };
    literals.sort();
    literals.dedup();
    if literals.is_empty() {
        return Check::Reject;
    }
    if !literals.iter().all(|l| evtx_searchable(l)) {
        return Check::Pass;
    }
    let mut encoded = Vec::with_capacity(literals.len() * 2);
    for lit in &literals {
        let Ok(text) = std::str::from_utf8(lit) else { return Check::Pass };
        encoded.push(text.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>());
        encoded.push(lit.clone());
    }
    let shown = literals.iter().map(|l| String::from_utf8_lossy(l).into_owned()).collect();
    literal_check(encoded, shown)
}

/// The literal as `format` stores it, or `None` when it cannot be searched soundly.
fn encode(format: RecordFormat, lit: &[u8]) -> Option<Vec<u8>> {
    match format {
        RecordFormat::SplunkXml => Some(lit.to_vec()),
        RecordFormat::DumpXml => {
            (!lit.iter().any(|b| matches!(b, b'"' | b'\'' | b'{' | b'}'))).then(|| lit.to_vec())
        }
        RecordFormat::Json => {
            let mut out = Vec::with_capacity(lit.len());
            for &b in lit {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'"' => out.extend_from_slice(b"\\\""),
                    // A record that writes `/` as `\/` falls through (`falls_through`), so a
                    // literal `/` is searched as it is.
                    0..=0x1f => return None,
                    _ => out.push(b),
                }
            }
            Some(out)
        }
    }
}

/// Whether a record's escapes could hide a literal, so it must be checked in full.
fn falls_through(format: RecordFormat, record: &[u8]) -> bool {
    match format {
        RecordFormat::SplunkXml => false,
        RecordFormat::DumpXml => memmem::find(record, b"&#").is_some(),
        RecordFormat::Json => has_json_escape(record, b'u') || has_json_escape(record, b'/'),
    }
}

/// Whether `record` holds the escape `\c` (a backslash that is not itself escaped).
fn has_json_escape(record: &[u8], c: u8) -> bool {
    let needle = [b'\\', c];
    memmem::find_iter(record, &needle).any(|at| {
        let run = record[..=at].iter().rev().take_while(|&&b| b == b'\\').count();
        run % 2 == 1
    })
}

fn required(expr: &Expr, origin: &dyn Fn(usize) -> FieldOrigin) -> Required {
    match expr {
        Expr::And(parts) => {
            parts.iter().filter_map(|p| required(p, origin)).max_by_key(|alts| score(alts))
        }
        Expr::Or(parts) => {
            let mut all = Vec::new();
            for p in parts {
                all.extend(required(p, origin)?);
            }
            Some(all)
        }
        Expr::Match { field, pattern } => {
            let o = origin(*field);
            if o.computed || o.synthetic.iter().any(|s| pattern.matches(s)) {
                return None;
            }
            if !o.raw {
                return Some(Vec::new());
            }
            // A piece of the literal between bytes the mapping may insert lies inside one raw
            // piece, so it occurs in the record even when the whole literal straddles a join.
            let lit = pattern
                .literals()
                .flat_map(|l| l.split(|b| o.joins.contains(b)))
                .filter(|l| !l.is_empty())
                .max_by_key(|l| l.len())?;
            Some(vec![lit.to_vec()])
        }
        Expr::Missing => Some(Vec::new()),
        Expr::Not(_) | Expr::NotMatch { .. } | Expr::Compare { .. } | Expr::All => None,
    }
}

/// Prefers sets that reject more: an empty set, then the longest shortest literal, then fewer
/// alternatives.
fn score(alts: &[Vec<u8>]) -> (bool, usize, std::cmp::Reverse<usize>) {
    let shortest = alts.iter().map(Vec::len).min().unwrap_or(0);
    (alts.is_empty(), shortest, std::cmp::Reverse(alts.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cim::{Mapper, Profile};
    use crate::plan::compile;
    use crate::spl::{Detection, MacroTable};

    fn prefilter_for(filter: &str) -> Prefilter {
        let search = format!("| tstats count from datamodel=Endpoint.Processes where {filter}");
        let det = Detection::inline("t", &search);
        let plan = compile(&det, &MacroTable::with_defaults()).unwrap();
        let mapper = Mapper::new(Profile::default_profile(), &plan.fields, &[plan.dataset]);
        Prefilter::build(&plan, &|fmt, f| mapper.origin(fmt, f))
    }

    #[test]
    fn default_rule_uses_the_binary_name() {
        let plan = compile(&Detection::default_rule(), &MacroTable::with_defaults()).unwrap();
        let mapper = Mapper::new(Profile::default_profile(), &plan.fields, &[plan.dataset]);
        let p = Prefilter::build(&plan, &|fmt, f| mapper.origin(fmt, f));
        for f in RecordFormat::ALL {
            assert_eq!(p.literals(f), Some(vec!["bitsadmin.exe".to_string()]));
        }
        assert!(p.may_match(RecordFormat::SplunkXml, b"x BITSADMIN.EXE y"));
        assert!(!p.may_match(RecordFormat::SplunkXml, b"x bitsadmin y"));
    }

    #[test]
    fn patterns_that_match_defaults_disable_filtering() {
        // `unknown` is what CIM gives a missing original_file_name: no literal is safe.
        let p = prefilter_for("Processes.original_file_name=unk*");
        assert_eq!(p.literals(RecordFormat::SplunkXml), None);
        let p = prefilter_for("Processes.vendor_product=\"Microsoft Sysmon\"");
        assert_eq!(p.literals(RecordFormat::SplunkXml), None);
    }

    #[test]
    fn joins_and_negations_are_respected() {
        let p = prefilter_for("Processes.process=\"*bitsadmin.exe /create*\"");
        // The literal holds a space, which the 4688 rebuild may insert: only a piece between
        // such bytes is sure to occur in the record, and the longest is kept.
        assert_eq!(p.literals(RecordFormat::SplunkXml), Some(vec!["bitsadmin.exe".to_string()]));
        assert!(p.may_match(RecordFormat::SplunkXml, b"<Data>C:\\bitsadmin.exe</Data> /create"));
        let p = prefilter_for("NOT Processes.process=*x*");
        assert_eq!(p.literals(RecordFormat::Json), None);
    }

    #[test]
    fn literals_sharing_a_prefix_are_each_checked() {
        // Found on the real data: `*Shadov*` and `*Shadow*` share their first four bytes, and
        // only the first literal was checked at the candidate, so `Shadow` records were lost.
        for (a, b, hay) in [
            ("*Shadov*", "*Shadow*", &b"x HarddiskVolumeShadowCopy1 y"[..]),
            ("*GLOBALRA*", "*GLOBALROOT*", br"\\?\GLOBALROOT\Device"),
            (r"*config\\sa*", r"*config\\sy*", br"C:\Windows\System32\config\SYSTEM"),
        ] {
            let p = prefilter_for(&format!("Processes.process={a} OR Processes.process={b}"));
            assert!(p.may_match(RecordFormat::SplunkXml, hay), "{a} {b}");
            assert!(!p.may_match(RecordFormat::SplunkXml, b"nothing here"), "{a} {b}");
        }
    }

    #[test]
    fn prefix_search_finds_overlapping_and_mixed_case_occurrences() {
        let f = Finder::build(&[b"abab".to_vec(), b"bitsadmin.exe".to_vec()]).unwrap();
        assert!(matches!(f, Finder::Prefixes { .. }));
        // A literal found in another case.
        assert!(f.is_match(b"xxABAB"));
        // "bits" at 0 fails the full check, the real occurrence starts inside it.
        let f = Finder::build(&[b"bibitsx".to_vec()]).unwrap();
        assert!(f.is_match(b"bibibitsx"));
        assert!(f.is_match(b"..BiBiTsX.."));
        assert!(!f.is_match(b"bibibits"));
        let f = Finder::build(&[b"bitsadmin.exe".to_vec()]).unwrap();
        assert!(f.is_match(b"C:\\BITSADMIN.EXE"));
        assert!(!f.is_match(b"bitsadmin.ex"));
        assert!(!f.is_match(b""));
    }

    #[test]
    fn evtx_chunk_literals_need_a_string_only_character() {
        assert!(evtx_searchable(b"bitsadmin.exe"));
        assert!(!evtx_searchable(b"4508"), "a pid is a binary integer in EVTX");
        assert!(!evtx_searchable(b"{747f3d96-d83e"), "a GUID is binary");
        assert!(!evtx_searchable(b"s-1-5-18"), "a SID is binary");
        assert!(!evtx_searchable(b"true"), "a boolean renders as text");
        assert!(!evtx_searchable(b"a&b"), "the rendering escapes `&`");
        assert!(!evtx_searchable(b"mp"), "could lie inside `&amp;`");
        let p = prefilter_for("Processes.process_name=bitsadmin.exe");
        let utf16: Vec<u8> =
            "x:\\BitsAdmin.EXE".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert!(p.evtx_chunk_may_match(&utf16));
        assert!(p.evtx_chunk_may_match(b"ascii bitsadmin.exe"));
        assert!(!p.evtx_chunk_may_match(
            &"cmd.exe".encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>()
        ));
        let p = prefilter_for("Processes.process_id=4508");
        assert!(p.evtx_chunk_may_match(b"nothing"), "typed values are never searched raw");
    }

    #[test]
    fn json_literals_are_escaped_and_escapes_fall_through() {
        let p = prefilter_for("Processes.process_path=\"C:\\\\Windows\\\\*\"");
        assert_eq!(p.literals(RecordFormat::Json), Some(vec![r"c:\\windows\\".to_string()]));
        assert!(p.may_match(RecordFormat::Json, br#"{"Image":"C:\\WINDOWS\\x"}"#));
        assert!(p.may_match(RecordFormat::Json, br#"{"Image":"C:\u005cWINDOWS"}"#));
        assert!(!p.may_match(RecordFormat::Json, br#"{"Image":"D:\\x\\u"}"#));
        let p = prefilter_for("Processes.process=\"*/create*\"");
        assert_eq!(p.literals(RecordFormat::Json), Some(vec!["/create".to_string()]));
        assert!(p.may_match(RecordFormat::Json, br#"{"CommandLine":"x /CREATE y"}"#));
        assert!(p.may_match(RecordFormat::Json, br#"{"CommandLine":"x \/create y"}"#));
        assert!(!p.may_match(RecordFormat::Json, br#"{"CommandLine":"x create y"}"#));
    }
}
