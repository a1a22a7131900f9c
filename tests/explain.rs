//! `tsreplay explain` for both published versions of BITS Job Persistence. The expected
//! sections are written by hand from the rule YAML and the macros (`../shared/rules`).

mod common;

use common::{s, shared_data, stdout, tsreplay};

fn section<'a>(text: &'a str, heading: &str) -> Vec<&'a str> {
    let start = text.lines().position(|l| l.starts_with(heading)).expect(heading);
    text.lines()
        .skip(start + 1)
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty())
        .collect()
}

const WORDS: &str = "\"*addfile*\", \"*create*\", \"*resume*\", \"*setcustomheaders*\", \
                     \"*setminretrydelay*\", \"*setnotifycmdline*\", \"*setnotifyflags*\"";

fn common_expectations(text: &str) {
    let indicators = section(text, "Indicators");
    assert_eq!(indicators[0].split_whitespace().collect::<Vec<_>>(), ["Field", "Kind", "Values"]);
    let rows: Vec<String> = indicators[1..]
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        rows,
        [
            "Processes.original_file_name eq \"bitsadmin.exe\"".to_string(),
            format!("Processes.process in {WORDS}"),
            "Processes.process_name eq \"bitsadmin.exe\"".to_string(),
        ]
    );
    assert_eq!(
        section(text, "Filter"),
        ["  AND(OR(process_name=bitsadmin.exe, original_file_name=bitsadmin.exe), process \
          IN(*create*, *addfile*, *setnotifyflags*, *setnotifycmdline*, *setminretrydelay*, \
          *setcustomheaders*, *resume*))"]
    );
    let stages: Vec<&str> = text.lines().filter(|l| l.starts_with("Stage ")).collect();
    assert_eq!(
        stages,
        [
            "Stage 1: tstats",
            "Stage 2: rename",
            "Stage 3: convert",
            "Stage 4: convert",
            "Stage 5: search"
        ]
    );
    assert!(text.contains("\n| rename \"Processes.*\" as *\n"));
    assert!(text.contains("\n| convert timeformat=\"%Y-%m-%dT%H:%M:%S\" ctime(firstTime)\n"));
    assert!(text.contains("\n| search *\n"));
    assert!(text.contains(
        "| tstats summariesonly=false allow_old_summaries=true fillnull_value=null count"
    ));
    assert_eq!(
        section(text, "Prefilter literals"),
        [
            "  splunk-xml       \"bitsadmin.exe\"",
            "  dump-xml/evtx    \"bitsadmin.exe\"",
            "  json             \"bitsadmin.exe\"",
            "  evtx chunks      \"bitsadmin.exe\" (as UTF-16LE and ASCII)"
        ]
    );
    let sources = section(text, "Source fields read");
    let sysmon = "  sysmon_xml (Sysmon EventID 1, XML/EVTX): \
                  UtcTime, SystemTime, Image, CommandLine, OriginalFileName";
    assert!(sources[0].starts_with(sysmon));
    let cs = "  crowdstrike_process (CrowdStrike ProcessRollup2, JSON): \
              timestamp, ImageFileName, CommandLine";
    assert!(sources.iter().any(|l| l.starts_with(cs)));
}

#[test]
fn version_13_embedded_default() {
    let text = stdout(&tsreplay(&["explain"]));
    assert!(text.starts_with(
        "Rule: BITS Job Persistence (id e97a5ffe-90bf-11eb-928a-acde48001122, version 13)\n"
    ));
    common_expectations(&text);
    let by = section(&text, "Group by (20)");
    let want = "action dest original_file_name parent_process parent_process_exec \
                parent_process_guid parent_process_id parent_process_name parent_process_path \
                process process_exec process_guid process_hash process_id \
                process_integrity_level process_name process_path user user_id vendor_product";
    let want: Vec<String> = want.split(' ').map(|f| format!("  Processes.{f}")).collect();
    assert_eq!(by, want);
}

#[test]
fn version_5_from_its_yaml() {
    let Some(data) = shared_data() else { return };
    let rule = data.join("../rules/bits_job_persistence_v5.yml");
    let text = stdout(&tsreplay(&["explain", "--rule", s(&rule)]));
    assert!(text.starts_with(
        "Rule: BITS Job Persistence (id e97a5ffe-90bf-11eb-928a-acde48001122, version 5)\n"
    ));
    common_expectations(&text);
    let by = section(&text, "Group by (9)");
    let want = "dest user original_file_name parent_process parent_process_name process_name \
                process process_id parent_process_id";
    let want: Vec<String> = want.split(' ').map(|f| format!("  Processes.{f}")).collect();
    assert_eq!(by, want);
    assert!(text.contains(
        "Output columns: dest, user, original_file_name, parent_process, parent_process_name, \
         process_name, process, process_id, parent_process_id, count, firstTime, lastTime"
    ));
}
