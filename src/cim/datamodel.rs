//! The CIM Endpoint data sets (Processes, Registry, Filesystem): their fields and the
//! calculated fields CIM evaluates after the add-on mapping (Part A.4 for Processes).
//!
//! Owns the data model's vocabulary and its defaulting rules. It reads no input and knows no
//! source format; the add-on side lives in `profile`. Part A defines only Processes; for
//! Registry and Filesystem no CIM default is assumed (a field the add-on does not set stays
//! missing), which the README names as this project's choice.

/// The object name that prefixes every field in a tstats search.
pub const OBJECT: &str = "Processes";

/// The data set a rule must name after `datamodel=`.
pub const DATASET: &str = "Endpoint.Processes";

/// Every field of Endpoint.Processes (CIM 5.x), in the data model's order.
pub const FIELDS: &[&str] = &[
    "action",
    "cpu_load_percent",
    "dest",
    "dest_bunit",
    "dest_category",
    "dest_is_expected",
    "dest_priority",
    "dest_requires_av",
    "dest_should_timesync",
    "dest_should_update",
    "mem_used",
    "original_file_name",
    "os",
    "parent_process",
    "parent_process_exec",
    "parent_process_guid",
    "parent_process_id",
    "parent_process_name",
    "parent_process_path",
    "process",
    "process_current_directory",
    "process_exec",
    "process_guid",
    "process_hash",
    "process_id",
    "process_integrity_level",
    "process_name",
    "process_path",
    "user",
    "user_bunit",
    "user_category",
    "user_id",
    "user_priority",
    "vendor_product",
];

/// Fields whose missing value CIM turns into `unknown`.
pub const UNKNOWN_WHEN_MISSING: &[&str] =
    &["dest", "original_file_name", "parent_process", "process", "user"];

/// The string CIM uses for a calculated field with no value.
pub const UNKNOWN: &str = "unknown";

/// Name fields CIM derives from the first token of another field when the add-on gave none:
/// `(name field, source field)`.
pub const NAME_FROM_FIRST_TOKEN: &[(&str, &str)] =
    &[("process_name", "process"), ("parent_process_name", "parent_process")];

/// The field CIM falls back to the sourcetype for.
pub const VENDOR_PRODUCT: &str = "vendor_product";

/// The field the data set's base search lower-cases.
pub const LOWER_CASED: &str = "process_integrity_level";

/// Whether `name` (without the object prefix) is a field of the data set.
pub fn is_field(name: &str) -> bool {
    FIELDS.contains(&name)
}

/// A CIM data set and its calculated fields.
#[derive(Debug, PartialEq, Eq)]
pub struct DataSet {
    /// `Endpoint.Processes` and the like, as written after `datamodel=`.
    pub name: &'static str,
    /// The object prefix of its fields in a tstats search (`Processes`).
    pub object: &'static str,
    /// Its fields.
    pub fields: &'static [&'static str],
    /// Fields whose missing value becomes `unknown`.
    pub unknown_when_missing: &'static [&'static str],
    /// `(name field, source field)`: a name taken from the first token of another field.
    pub name_from_first_token: &'static [(&'static str, &'static str)],
    /// A field the data set's base search lower-cases.
    pub lower_cased: Option<&'static str>,
}

impl DataSet {
    /// Whether `name` (without the object prefix) is one of its fields.
    pub fn is_field(&self, name: &str) -> bool {
        self.fields.contains(&name)
    }

    /// The fields a field's value can depend on (itself, plus the field its name fallback
    /// reads).
    pub fn dependencies(&self, field: &str) -> Vec<&'static str> {
        let mut deps: Vec<&'static str> =
            self.fields.iter().copied().filter(|f| *f == field).collect();
        for (name, source) in self.name_from_first_token {
            if *name == field {
                deps.push(source);
            }
        }
        deps
    }
}

/// Endpoint.Processes (Part A.4).
pub const PROCESSES: DataSet = DataSet {
    name: DATASET,
    object: OBJECT,
    fields: FIELDS,
    unknown_when_missing: UNKNOWN_WHEN_MISSING,
    name_from_first_token: NAME_FROM_FIRST_TOKEN,
    lower_cased: Some(LOWER_CASED),
};

/// Endpoint.Registry (CIM 5.x fields).
pub const REGISTRY: DataSet = DataSet {
    name: "Endpoint.Registry",
    object: "Registry",
    fields: &[
        "action",
        "dest",
        "dest_bunit",
        "dest_category",
        "dest_priority",
        "dest_requires_av",
        "dest_should_timesync",
        "dest_should_update",
        "process_guid",
        "process_id",
        "registry_hive",
        "registry_key_name",
        "registry_path",
        "registry_value_data",
        "registry_value_name",
        "registry_value_text",
        "registry_value_type",
        "status",
        "user",
        "user_bunit",
        "user_category",
        "user_priority",
        "vendor_product",
    ],
    unknown_when_missing: &[],
    name_from_first_token: &[],
    lower_cased: None,
};

/// Endpoint.Filesystem (CIM 5.x fields).
pub const FILESYSTEM: DataSet = DataSet {
    name: "Endpoint.Filesystem",
    object: "Filesystem",
    fields: &[
        "action",
        "dest",
        "dest_bunit",
        "dest_category",
        "dest_priority",
        "dest_requires_av",
        "dest_should_timesync",
        "dest_should_update",
        "file_access_time",
        "file_acl",
        "file_create_time",
        "file_hash",
        "file_modify_time",
        "file_name",
        "file_path",
        "file_size",
        "process_guid",
        "process_id",
        "user",
        "user_bunit",
        "user_category",
        "user_priority",
        "vendor_product",
    ],
    unknown_when_missing: &[],
    name_from_first_token: &[],
    lower_cased: None,
};

/// Every data set the engine reads.
pub const ALL: [&DataSet; 3] = [&PROCESSES, &REGISTRY, &FILESYSTEM];

/// The data set named `name` (`Endpoint.Registry`...).
pub fn by_name(name: &str) -> Option<&'static DataSet> {
    ALL.iter().copied().find(|d| d.name == name)
}

/// The first whitespace-delimited token of `value`, as CIM's `^\s*([^\s]+).*` takes it
/// (quotes kept).
pub fn first_token(value: &str) -> Option<&str> {
    value.split_whitespace().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_token_keeps_quotes() {
        assert_eq!(first_token("  \"C:\\a b\\c.exe\" /x"), Some("\"C:\\a"));
        assert_eq!(first_token("   "), None);
    }

    #[test]
    fn name_depends_on_its_source() {
        assert_eq!(PROCESSES.dependencies("process_name"), ["process_name", "process"]);
        assert_eq!(PROCESSES.dependencies("dest"), ["dest"]);
    }
}
