//! `tsreplay gen`: seeded, realistic synthetic logs for benchmarks and checks at any size.
//!
//! Owns the team-written record templates (Sysmon EventID 1 and Security 4688 as forwarder XML
//! lines, CrowdStrike ProcessRollup2 JSON lines, modelled on the shapes of the real files) and
//! the choice of which records are positives for the default rule (BITS Job Persistence). Every
//! positive carries a distinct job name `TsrJob<N>`, so each gives its own row, and the count of
//! positives is known. Background records include near misses (bitsadmin `/transfer`, cmd.exe
//! wrappers holding the keywords). It is not part of the replay pipeline.

use std::io::{self, Write};

/// The formats `gen` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenFormat {
    /// Sysmon EventID 1, Splunk XmlWinEventLog lines.
    SysmonXml,
    /// Security 4688, Splunk XmlWinEventLog lines.
    SecurityXml,
    /// CrowdStrike FDR ProcessRollup2 JSON lines.
    CrowdStrikeJson,
}

/// What a `gen` run wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Generated {
    /// Bytes written.
    pub bytes: u64,
    /// Records written.
    pub records: u64,
    /// Records that the default rule matches, each its own row.
    pub positives: u64,
}

/// A small, seeded generator (SplitMix64): the same seed gives the same file.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    fn hex(&mut self, digits: usize) -> String {
        (0..digits).map(|_| b"0123456789ABCDEF"[self.below(16) as usize] as char).collect()
    }
}

const HOSTS: &[&str] =
    &["WKS-0142.corp.example", "WKS-0977.corp.example", "SRV-APP-07", "lab-dc-01"];
const USERS: &[&str] = &["CORP\\alice", "CORP\\bob", "NT AUTHORITY\\SYSTEM", "CORP\\svc_backup"];
const BACKGROUND: &[(&str, &str)] = &[
    ("C:\\Windows\\System32\\svchost.exe", "C:\\Windows\\system32\\svchost.exe -k netsvcs -p"),
    (
        "C:\\Windows\\System32\\conhost.exe",
        "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1",
    ),
    (
        "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
        "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --type=renderer",
    ),
    (
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "powershell.exe -NoProfile -Command Get-Process",
    ),
    (
        "C:\\Windows\\System32\\schtasks.exe",
        "schtasks /create /tn Update /tr C:\\ops\\update.cmd /sc daily",
    ),
    ("C:\\Windows\\System32\\sc.exe", "sc create backupsvc binPath= C:\\ops\\svc.exe"),
];

/// Background records that name bitsadmin but must not match: a cmd.exe wrapper holding a
/// keyword, and a `/transfer`. One background record in `NEAR_MISS_EVERY` is one of them.
const NEAR_MISSES: &[(&str, &str)] = &[
    (
        "C:\\Windows\\System32\\cmd.exe",
        "\"C:\\Windows\\system32\\cmd.exe\" /c \"bitsadmin.exe /resume NightlyJob\"",
    ),
    (
        "C:\\Windows\\System32\\bitsadmin.exe",
        "bitsadmin.exe /transfer Nightly https://updates.example/p.cab C:\\Temp\\p.cab",
    ),
];

/// How rare near misses are among background records.
const NEAR_MISS_EVERY: u64 = 500;
const VERBS: &[&str] = &[
    "create",
    "addfile",
    "setnotifyflags",
    "setnotifycmdline",
    "setminretrydelay",
    "setcustomheaders",
    "resume",
];

/// One process creation to render.
struct Proc {
    host: &'static str,
    user: &'static str,
    image: String,
    cmd: String,
    pid: u64,
    ppid: u64,
    guid: String,
    epoch_ms: u64,
}

/// Writes about `target` bytes of `format` records to `out`; `share` of the records (0 to 1)
/// are positives.
pub fn generate(
    out: &mut dyn Write,
    format: GenFormat,
    target: u64,
    share: f64,
    seed: u64,
) -> io::Result<Generated> {
    let mut rng = Rng(seed);
    let mut g = Generated::default();
    let every = if share > 0.0 { (1.0 / share).round().max(1.0) as u64 } else { u64::MAX };
    let mut line = String::with_capacity(2048);
    while g.bytes < target {
        let positive = (g.records + 1) % every == 0;
        let p = process(&mut rng, g.records, positive, g.positives);
        line.clear();
        render(&mut line, format, &p, &mut rng);
        out.write_all(line.as_bytes())?;
        g.bytes += line.len() as u64;
        g.records += 1;
        g.positives += u64::from(positive);
    }
    out.flush()?;
    Ok(g)
}

fn process(rng: &mut Rng, n: u64, positive: bool, positives: u64) -> Proc {
    let (image, cmd) = if positive {
        let verb = rng.pick(VERBS);
        (
            "C:\\Windows\\System32\\bitsadmin.exe".to_string(),
            format!("bitsadmin.exe /{verb} TsrJob{positives}"),
        )
    } else {
        let table = if rng.below(NEAR_MISS_EVERY) == 0 { NEAR_MISSES } else { BACKGROUND };
        let (i, c) = table[rng.below(table.len() as u64) as usize];
        (i.to_string(), c.to_string())
    };
    Proc {
        host: rng.pick(HOSTS),
        user: rng.pick(USERS),
        image,
        cmd,
        pid: 1000 + rng.below(60_000),
        ppid: 500 + rng.below(8_000),
        guid: format!(
            "{{{}-{}-{}-{}-{}}}",
            rng.hex(8),
            rng.hex(4),
            rng.hex(4),
            rng.hex(4),
            rng.hex(12)
        ),
        epoch_ms: 1_700_000_000_000 + n * 37,
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn iso(epoch_ms: u64, sep: char) -> String {
    let ts =
        jiff::Timestamp::from_millisecond(epoch_ms as i64).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let s = ts.strftime("%Y-%m-%dT%H:%M:%S%.3f").to_string();
    if sep == 'T' {
        s
    } else {
        s.replacen('T', " ", 1)
    }
}

fn render(line: &mut String, format: GenFormat, p: &Proc, rng: &mut Rng) {
    match format {
        GenFormat::SysmonXml => render_sysmon(line, p, rng),
        GenFormat::SecurityXml => render_security(line, p),
        GenFormat::CrowdStrikeJson => render_crowdstrike(line, p, rng),
    }
}

fn data(name: &str, value: &str) -> String {
    format!("<Data Name='{name}'>{}</Data>", xml_escape(value))
}

fn render_sysmon(line: &mut String, p: &Proc, rng: &mut Rng) {
    use std::fmt::Write as _;
    let _ = writeln!(
        line,
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>\
         <Provider Name='Microsoft-Windows-Sysmon' \
         Guid='{{5770385F-C22A-43E0-BF4C-06F5698FFBD9}}'/>\
         <EventID>1</EventID><Version>5</Version><Level>4</Level><Task>1</Task>\
         <Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime='{}0000Z'/>\
         <Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>{}</Computer>\
         <Security UserID='S-1-5-18'/></System>\
         <EventData>{}{}{}{}{}{}{}{}{}{}{}{}{}</EventData></Event>",
        iso(p.epoch_ms, 'T'),
        p.host,
        data("RuleName", "-"),
        data("UtcTime", &iso(p.epoch_ms, ' ')),
        data("ProcessGuid", &p.guid),
        data("ProcessId", &p.pid.to_string()),
        data("Image", &p.image),
        data("CommandLine", &p.cmd),
        data("CurrentDirectory", "C:\\Windows\\system32\\"),
        data("User", p.user),
        data("IntegrityLevel", "High"),
        data("Hashes", &format!("SHA256={},IMPHASH={}", rng.hex(64), rng.hex(32))),
        data("ParentProcessId", &p.ppid.to_string()),
        data("ParentImage", "C:\\Windows\\System32\\cmd.exe"),
        data("ParentCommandLine", "\"C:\\Windows\\system32\\cmd.exe\" /c setup.cmd"),
    );
}

fn render_security(line: &mut String, p: &Proc) {
    use std::fmt::Write as _;
    let name = p.user.rsplit('\\').next().unwrap_or(p.user);
    let _ = writeln!(
        line,
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>\
         <Provider Name='Microsoft-Windows-Security-Auditing' \
         Guid='{{54849625-5478-4994-A5BA-3E3B0328C30D}}'/>\
         <EventID>4688</EventID><Version>2</Version><Level>0</Level><Task>13312</Task>\
         <Keywords>0x8020000000000000</Keywords><TimeCreated SystemTime='{}0000Z'/>\
         <Channel>Security</Channel><Computer>{}</Computer><Security/></System><EventData>\
         {}{}{}{}{}{}{}{}</EventData></Event>",
        iso(p.epoch_ms, 'T'),
        p.host,
        data("SubjectUserName", "WKS$"),
        data("NewProcessId", &format!("0x{:x}", p.pid)),
        data("NewProcessName", &p.image),
        data("ProcessId", &format!("0x{:x}", p.ppid)),
        data("CommandLine", &p.cmd),
        data("TargetUserName", name),
        data("ParentProcessName", "C:\\Windows\\System32\\cmd.exe"),
        data("MandatoryLabel", "Mandatory Label\\High Mandatory Level"),
    );
}

fn render_crowdstrike(line: &mut String, p: &Proc, rng: &mut Rng) {
    use std::fmt::Write as _;
    let json = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let device = p.image.replacen("C:", "\\Device\\HarddiskVolume2", 1);
    let _ = writeln!(
        line,
        "{{\"event_simpleName\":\"ProcessRollup2\",\"name\":\"ProcessRollup2V19\",\
         \"timestamp\":\"{}\",\"aid\":\"{}\",\"ComputerName\":{},\
         \"UserSid\":\"S-1-5-21-1004\",\"RawProcessId\":\"{}\",\"ParentProcessId\":\"{}\",\
         \"ParentBaseFileName\":\"cmd.exe\",\
         \"ImageFileName\":{},\"CommandLine\":{},\"IntegrityLevel\":\"12288\",\
         \"SHA256HashData\":\"{}\"}}",
        p.epoch_ms,
        rng.hex(32).to_lowercase(),
        json(p.host),
        p.pid,
        p.ppid,
        json(&device),
        json(&p.cmd),
        rng.hex(64).to_lowercase(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_and_the_share_of_positives() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        let ga = generate(&mut a, GenFormat::SysmonXml, 200_000, 0.01, 7).unwrap();
        let gb = generate(&mut b, GenFormat::SysmonXml, 200_000, 0.01, 7).unwrap();
        assert_eq!(a, b);
        assert_eq!(ga, gb);
        assert_eq!(ga.positives, ga.records / 100);
        let text = String::from_utf8(a).unwrap();
        assert_eq!(text.matches("TsrJob").count() as u64, ga.positives);
        assert_eq!(text.lines().count() as u64, ga.records);
    }
}
