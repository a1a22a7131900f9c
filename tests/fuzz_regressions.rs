//! Replays every kept fuzz crasher (`fixtures/fuzz/<target>/`) and the team-written fixtures
//! through the fuzz entry points: none may panic. A crasher that comes back fails here.

use std::path::Path;

type Target = fn(&[u8]);

const TARGETS: &[(&str, Target)] = &[
    ("xml_record", tsreplay::fuzzing::xml_record),
    ("json_line", tsreplay::fuzzing::json_line),
    ("evtx_file", tsreplay::fuzzing::evtx_file),
    ("spl_compile", tsreplay::fuzzing::spl_compile),
    ("export_reader", tsreplay::fuzzing::export_reader),
];

fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn kept_crashers_no_longer_crash() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fuzz");
    let mut replayed = 0;
    for (name, target) in TARGETS {
        let mut files = Vec::new();
        files_under(&root.join(name), &mut files);
        for f in files {
            target(&std::fs::read(&f).unwrap());
            replayed += 1;
        }
    }
    eprintln!("replayed {replayed} kept crashers");
}

#[test]
fn every_fixture_goes_through_every_target() {
    // The fixtures are the fuzzers' seeds: each target must take every one of them, whatever
    // its format, without panicking.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files = Vec::new();
    files_under(&root.join("cases"), &mut files);
    files_under(&root.join("compare"), &mut files);
    files_under(&root.join("attack_data"), &mut files);
    assert!(files.len() > 60, "the fixtures are where they should be");
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        for (_, target) in TARGETS {
            target(&bytes);
        }
    }
}

#[test]
fn edge_inputs_go_through_every_target() {
    let mut evtx_header = b"ElfFile\0".to_vec();
    evtx_header.resize(4096 + 65536, 0);
    evtx_header[4096..4104].copy_from_slice(b"ElfChnk\0");
    let inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        vec![0; 1],
        vec![0xff; 70_000],
        b"<Event>".repeat(1000),
        b"{\"a\":".repeat(1000),
        b"`".repeat(100),
        evtx_header,
    ];
    for input in &inputs {
        for (_, target) in TARGETS {
            target(input);
        }
    }
}
