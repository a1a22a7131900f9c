//! The CIM Endpoint.Processes data set: its fields and the calculated fields CIM evaluates
//! after the add-on mapping (Part A.4).
//!
//! Owns the data model's vocabulary and its defaulting rules. It reads no input and knows no
//! source format; the add-on side lives in `profile`.

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

/// The first whitespace-delimited token of `value`, as CIM's `^\s*([^\s]+).*` takes it
/// (quotes kept).
pub fn first_token(value: &str) -> Option<&str> {
    value.split_whitespace().next()
}

/// The CIM fields that a CIM field's value can depend on (itself, plus the field its name
/// fallback reads).
pub fn dependencies(field: &str) -> Vec<&'static str> {
    let mut deps: Vec<&'static str> = FIELDS.iter().copied().filter(|f| *f == field).collect();
    for (name, source) in NAME_FROM_FIRST_TOKEN {
        if *name == field {
            deps.push(source);
        }
    }
    deps
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
        assert_eq!(dependencies("process_name"), ["process_name", "process"]);
        assert_eq!(dependencies("dest"), ["dest"]);
    }
}
