//! The byte form of a group's field states, for partial group tables that leave the process.
//!
//! Owns writing and checking that form. Layout, per field state in plan order: a tag byte
//! (`D` distinct values, `L` latest, `E` earliest); for `D` a u32 count then each value as a
//! u32 length and its UTF-8 bytes; for `L`/`E` a byte 0 (no value) or 1 followed by an i64
//! time and one value. Integers are little-endian. It must not know files or Arrow.

use std::collections::BTreeSet;

use super::{AggState, FieldState};
use crate::plan::{AggKind, Plan};

/// Why bytes are not a group state of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateError {
    /// The bytes end inside a state.
    Truncated,
    /// A tag byte that is not `D`, `L` or `E`.
    BadTag(u8),
    /// A value that is not UTF-8.
    NotUtf8,
    /// The states do not match the rule's aggregates (another rule's partial, or damage).
    WrongShape,
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateError::Truncated => f.write_str("a group state ends early"),
            StateError::BadTag(t) => write!(f, "a group state has an unknown tag byte {t:#04x}"),
            StateError::NotUtf8 => f.write_str("a group state holds a value that is not UTF-8"),
            StateError::WrongShape => {
                f.write_str("a group's states or key do not fit the rule's aggregates and BY list")
            }
        }
    }
}

impl std::error::Error for StateError {}

/// The byte form of `fields` (empty for a rule that only counts).
pub fn encode_fields(fields: &[FieldState]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in fields {
        match f {
            FieldState::Distinct(set) => {
                out.push(b'D');
                out.extend_from_slice(&(set.len() as u32).to_le_bytes());
                set.iter().for_each(|v| put_text(&mut out, v));
            }
            FieldState::Latest(pick) | FieldState::Earliest(pick) => {
                out.push(if matches!(f, FieldState::Latest(_)) { b'L' } else { b'E' });
                match pick {
                    None => out.push(0),
                    Some((t, v)) => {
                        out.push(1);
                        out.extend_from_slice(&t.to_le_bytes());
                        put_text(&mut out, v);
                    }
                }
            }
        }
    }
    out
}

fn put_text(out: &mut Vec<u8>, v: &str) {
    out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    out.extend_from_slice(v.as_bytes());
}

/// Reads the field states written by `encode_fields`.
pub fn decode_fields(mut bytes: &[u8]) -> Result<Vec<FieldState>, StateError> {
    let mut out = Vec::new();
    while let Some((&tag, rest)) = bytes.split_first() {
        bytes = rest;
        out.push(match tag {
            b'D' => {
                let n = take_u32(&mut bytes)?;
                let mut set = BTreeSet::new();
                for _ in 0..n {
                    set.insert(take_text(&mut bytes)?);
                }
                FieldState::Distinct(set)
            }
            b'L' | b'E' => {
                let pick = match take(&mut bytes, 1)?[0] {
                    0 => None,
                    _ => {
                        let t = i64::from_le_bytes(take(&mut bytes, 8)?.try_into().expect("8"));
                        Some((t, take_text(&mut bytes)?))
                    }
                };
                match tag {
                    b'L' => FieldState::Latest(pick),
                    _ => FieldState::Earliest(pick),
                }
            }
            other => return Err(StateError::BadTag(other)),
        });
    }
    Ok(out)
}

fn take<'b>(bytes: &mut &'b [u8], n: usize) -> Result<&'b [u8], StateError> {
    if bytes.len() < n {
        return Err(StateError::Truncated);
    }
    let (head, rest) = bytes.split_at(n);
    *bytes = rest;
    Ok(head)
}

fn take_u32(bytes: &mut &[u8]) -> Result<u32, StateError> {
    Ok(u32::from_le_bytes(take(bytes, 4)?.try_into().expect("4 bytes")))
}

fn take_text(bytes: &mut &[u8]) -> Result<Box<str>, StateError> {
    let n = take_u32(bytes)? as usize;
    let raw = take(bytes, n)?;
    std::str::from_utf8(raw).map(Box::from).map_err(|_| StateError::NotUtf8)
}

/// Checks that `key` and `state` are a group of `plan`: as many BY values as its BY list
/// (and time bucket) and one field state of the right kind per field aggregate.
pub fn check_fits(plan: &Plan, key: &[u8], state: &AggState) -> Result<(), StateError> {
    let width = plan.by.len() + usize::from(plan.time_bucket.is_some());
    let kinds: Vec<AggKind> =
        plan.aggs.iter().map(|a| a.kind).filter(|k| k.field().is_some()).collect();
    let fits = super::decode_key(key).len() == width
        && state.fields.len() == kinds.len()
        && state.fields.iter().zip(&kinds).all(|(f, k)| match f {
            FieldState::Distinct(_) => matches!(k, AggKind::Values(_) | AggKind::Dc(_)),
            FieldState::Latest(_) => matches!(k, AggKind::Latest(_)),
            FieldState::Earliest(_) => matches!(k, AggKind::Earliest(_)),
        });
    if fits {
        Ok(())
    } else {
        Err(StateError::WrongShape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_states_round_trip_and_damage_is_named() {
        let fields = vec![
            FieldState::Distinct(["b", "a\u{0}x"].into_iter().map(Box::from).collect()),
            FieldState::Latest(Some((-5, Box::from("é")))),
            FieldState::Earliest(None),
        ];
        let bytes = encode_fields(&fields);
        // D, count 2, "a\0x" (3), "b" (1); L, 1, time, "é" (2 bytes); E, 0.
        assert_eq!(bytes.len(), 1 + 4 + (4 + 3) + (4 + 1) + 1 + 1 + 8 + (4 + 2) + 1 + 1);
        assert_eq!(decode_fields(&bytes), Ok(fields));
        assert_eq!(decode_fields(&bytes[..bytes.len() - 3]), Err(StateError::Truncated));
        assert_eq!(decode_fields(b"X"), Err(StateError::BadTag(b'X')));
        assert_eq!(decode_fields(b"D\x01\0\0\0\x01\0\0\0\xff"), Err(StateError::NotUtf8));
    }
}
