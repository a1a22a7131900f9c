//! Shared vocabulary of the stages: which kind of event a record is, how its bytes encode
//! text, and where a CIM field's value can come from.
//!
//! Owns plain data types only. It must not depend on any stage.

/// Which mapped source an event is, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// Sysmon EventID 1.
    SysmonProcess,
    /// Windows Security 4688.
    SecurityProcess,
    /// CrowdStrike `ProcessRollup2` or `SyntheticProcessRollup2`.
    CrowdStrikeProcess,
    /// Sysmon EventID 12, 13 or 14 (registry key and value events).
    SysmonRegistry,
    /// Sysmon EventID 11, 23 or 26 (file created, deleted, delete detected).
    SysmonFile,
    /// Any other event: enters no data set (Part A.5).
    Other,
}

impl SourceKind {
    /// The CIM data set the kind's events enter, by name (`Endpoint.Processes`...).
    pub fn dataset(self) -> Option<&'static str> {
        match self {
            SourceKind::SysmonProcess
            | SourceKind::SecurityProcess
            | SourceKind::CrowdStrikeProcess => Some("Endpoint.Processes"),
            SourceKind::SysmonRegistry => Some("Endpoint.Registry"),
            SourceKind::SysmonFile => Some("Endpoint.Filesystem"),
            SourceKind::Other => None,
        }
    }

    /// The kind of a Sysmon event by its EventID.
    pub fn sysmon(event_id: &str) -> SourceKind {
        match event_id {
            "1" => SourceKind::SysmonProcess,
            "12" | "13" | "14" => SourceKind::SysmonRegistry,
            "11" | "23" | "26" => SourceKind::SysmonFile,
            _ => SourceKind::Other,
        }
    }
}

/// How a record's raw bytes encode its field values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordFormat {
    /// A forwarder's XmlWinEventLog line: values are the raw text, entities not decoded.
    SplunkXml,
    /// XML as EVTX dump tools (and the evtx crate) write it: values are normalised to the
    /// forwarder rendering (entities decoded then `&`, `<`, `>` re-escaped; GUIDs upper-cased
    /// in braces).
    DumpXml,
    /// A JSON line: values are JSON-decoded.
    Json,
}

impl RecordFormat {
    /// Every format, in a fixed order.
    pub const ALL: [RecordFormat; 3] =
        [RecordFormat::SplunkXml, RecordFormat::DumpXml, RecordFormat::Json];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            RecordFormat::SplunkXml => "splunk-xml",
            RecordFormat::DumpXml => "dump-xml/evtx",
            RecordFormat::Json => "json",
        }
    }

    /// Whether values in this format are mapped with the XML profile sections.
    pub fn is_xml(self) -> bool {
        !matches!(self, RecordFormat::Json)
    }
}

/// Where the values of one CIM field can come from, for one format: what the prefilter needs
/// to know to stay sound.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldOrigin {
    /// The value may be (a piece of) raw record text.
    pub raw: bool,
    /// Bytes the mapping inserts between or around raw pieces (a literal containing one may
    /// straddle a join and so not appear in the raw record).
    pub joins: Vec<u8>,
    /// Values the mapping can produce that are not raw text (constants, lookups, CIM
    /// defaults).
    pub synthetic: Vec<String>,
    /// Values are computed from raw text (a number rewritten to another base), so they need
    /// not appear in the record at all.
    pub computed: bool,
}

impl FieldOrigin {
    /// Merges another origin into this one.
    pub fn merge(&mut self, other: &FieldOrigin) {
        self.raw |= other.raw;
        self.computed |= other.computed;
        for b in &other.joins {
            if !self.joins.contains(b) {
                self.joins.push(*b);
            }
        }
        for s in &other.synthetic {
            if !self.synthetic.contains(s) {
                self.synthetic.push(s.clone());
            }
        }
    }
}
