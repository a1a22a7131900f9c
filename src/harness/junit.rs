//! The test outcomes as JUnit XML, one test suite per detection file, for CI systems.
//!
//! Owns the mapping of outcomes onto JUnit's vocabulary (failure, skipped, error). It must
//! not decide outcomes.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{Outcome, Status};

/// Text that XML 1.0 can hold: control characters (other than tab and line breaks) and the
/// non-characters U+FFFE and U+FFFF become U+FFFD.
fn xml_safe(s: &str) -> String {
    let bad = |c: char| {
        (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    };
    s.chars().map(|c| if bad(c) { '\u{FFFD}' } else { c }).collect()
}

/// The JUnit XML text of `outcomes`.
pub fn render(outcomes: &[Outcome]) -> Result<String, quick_junit::SerializeError> {
    let mut report = Report::new("tsreplay test");
    let mut suites: Vec<TestSuite> = Vec::new();
    let mut files: Vec<&std::path::Path> = Vec::new();
    for o in outcomes {
        let i = match files.iter().position(|f| *f == o.file.as_path()) {
            Some(i) => i,
            None => {
                files.push(&o.file);
                suites.push(TestSuite::new(xml_safe(&o.detection)));
                suites.len() - 1
            }
        };
        suites[i].add_test_case(test_case(o));
    }
    report.add_test_suites(suites);
    report.to_string()
}

fn test_case(o: &Outcome) -> TestCase {
    let mut status = match &o.status {
        Status::Pass => TestCaseStatus::success(),
        Status::Fail(_) => TestCaseStatus::non_success(NonSuccessKind::Failure),
        Status::Error(_) => TestCaseStatus::non_success(NonSuccessKind::Error),
        Status::Skipped(_) => TestCaseStatus::skipped(),
    };
    if let Some(detail) = o.status.detail() {
        // An attribute loses line breaks: its first line there, the whole text in the body.
        status.set_message(xml_safe(detail.lines().next().unwrap_or("")));
        status.set_description(xml_safe(&detail));
    }
    let mut case = TestCase::new(xml_safe(&o.test), status);
    case.set_classname(xml_safe(&o.file.display().to_string()));
    case.set_time(Duration::from_secs_f64(o.seconds.max(0.0)));
    let mut out = format!("{} rows, {} events\n", o.rows, o.events);
    for d in &o.data {
        out.push_str(&format!("data: {d}\n"));
    }
    if let Some(f) = &o.strict_would_fail {
        out.push_str(&format!("note: contentctl's row-order check fails: {f}\n"));
    }
    case.set_system_out(xml_safe(&out));
    case
}
