//! Timestamp parsing for `_time`: the shapes the supported sources write.
//!
//! Owns turning a timestamp text into epoch nanoseconds (UTC). It must not choose which field
//! holds the time; the profile does.

/// Parses `value` as epoch nanoseconds. Accepts `YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z]` (read
/// as UTC, the way Part A.6/A.7 reads UtcTime, SystemTime, TimeCreated and EventTime), any
/// RFC 3339 timestamp with an offset, and all-digit epoch values in `epoch_unit_ns` units.
pub fn parse_time(value: &str, epoch_unit_ns: i64) -> Option<i64> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse::<i64>().ok()?.checked_mul(epoch_unit_ns);
    }
    if let Some(ns) = parse_fixed(v) {
        return Some(ns);
    }
    let ts: jiff::Timestamp = v.parse().ok()?;
    i64::try_from(ts.as_nanosecond()).ok()
}

/// The fast path for `YYYY-MM-DD[T ]HH:MM:SS[.f{1,9}][Z]`.
fn parse_fixed(v: &str) -> Option<i64> {
    let b = v.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = v.get(r)?;
        s.bytes().all(|c| c.is_ascii_digit()).then(|| s.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &b[19..];
    let mut frac_ns = 0i64;
    if rest.first() == Some(&b'.') {
        let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        for (i, c) in rest[1..=digits].iter().enumerate() {
            if i < 9 {
                frac_ns = frac_ns * 10 + i64::from(c - b'0');
            }
        }
        frac_ns *= 10i64.pow(9u32.saturating_sub(digits as u32));
        rest = &rest[1 + digits..];
    }
    if !(rest.is_empty() || rest == b"Z") {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    let secs = ((days * 24 + h) * 60 + mi) * 60 + s;
    // i64 nanoseconds reach from 1677 to 2262; a time outside that is unreadable, not wrapped.
    secs.checked_mul(1_000_000_000)?.checked_add(frac_ns)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    const MS: i64 = 1_000_000;

    #[test]
    fn sysmon_utctime_and_system_time() {
        // 2019-07-19 14:48:30 UTC is 1563547710 (checked by hand: 18096 days * 86400 + 53310).
        assert_eq!(parse_time("2019-07-19 14:48:30.655", MS), Some(1_563_547_710_655_000_000));
        assert_eq!(
            parse_time("2019-07-19T14:48:30.660877000Z", MS),
            Some(1_563_547_710_660_877_000)
        );
        assert_eq!(parse_time("2019-07-19T14:48:30.6608770Z", MS), Some(1_563_547_710_660_877_000));
    }

    #[test]
    fn epoch_millis_and_offsets() {
        assert_eq!(parse_time("1713805173418", MS), Some(1_713_805_173_418_000_000));
        assert_eq!(parse_time("2020-01-01T01:00:00+01:00", MS), Some(1_577_836_800_000_000_000));
        assert_eq!(parse_time("1970-01-01 00:00:00", MS), Some(0));
    }

    #[test]
    fn garbage_is_none() {
        assert_eq!(parse_time("yesterday", MS), None);
        assert_eq!(parse_time("2019-13-19 14:48:30", MS), None);
        assert_eq!(parse_time("", MS), None);
        assert_eq!(parse_time("2020-02-31 00:00:00", MS), None);
        assert_eq!(parse_time("2300-01-01 00:00:00.000", MS), None);
        assert_eq!(parse_time("0000-01-01 00:00:00", MS), None);
        assert_eq!(parse_time("2024-02-29 00:00:00", MS), Some(1_709_164_800_000_000_000));
        assert_eq!(parse_time("99999999999999999999", MS), None);
    }
}
