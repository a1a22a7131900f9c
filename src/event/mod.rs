//! Stage 2: one raw record → a `RawEvent` holding only the source fields the plan needs.
//!
//! Owns record parsing for each text format (`xml`, `json`) and the event kind (Part A.5). It
//! borrows values from the record wherever it can and must not apply any add-on or CIM rule:
//! a value leaves this stage exactly as the add-on would extract it.

pub mod json;
pub mod xml;

use std::borrow::Cow;

use crate::schema::{RecordFormat, SourceKind};

/// A parsed record: its kind and the raw fields the plan asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent<'a> {
    /// Which process-creation source it is.
    pub kind: SourceKind,
    /// How its values were encoded.
    pub format: RecordFormat,
    /// `(name, value)` pairs; a name that appears twice is a multivalue field. Empty values
    /// are not stored (missing means absent or empty).
    pub fields: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> RawEvent<'a> {
    /// Every value of `name`, in record order.
    pub fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Cow<'a, str>> + 's {
        self.fields.iter().filter(move |(n, _)| n == name).map(|(_, v)| v)
    }

    /// The first value of `name`.
    pub fn first<'s>(&'s self, name: &'s str) -> Option<&'s str> {
        self.values(name).next().map(|v| v.as_ref())
    }
}

/// Which raw fields to keep, per event kind and text family.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    entries: Vec<(SourceKind, bool, Vec<String>)>,
}

impl Projection {
    /// Declares the fields wanted for `kind` in the XML (`xml = true`) or JSON family.
    pub fn set(&mut self, kind: SourceKind, xml: bool, fields: Vec<String>) {
        self.entries.retain(|(k, x, _)| !(*k == kind && *x == xml));
        self.entries.push((kind, xml, fields));
    }

    /// The fields wanted, or `None` when such events are not read at all.
    pub fn wanted(&self, kind: SourceKind, xml: bool) -> Option<&[String]> {
        self.entries.iter().find(|(k, x, _)| *k == kind && *x == xml).map(|(_, _, f)| f.as_slice())
    }
}

/// Whether `name` is in `wanted`.
pub(crate) fn is_wanted(wanted: &[String], name: &str) -> bool {
    wanted.iter().any(|w| w == name)
}
