//! How times and durations read in an agent's timeline.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// Seconds as `H:MM:SS` (`0:02:00`), rounded to the nearest second.
/// Negative or non-finite input reads as `0:00:00`.
pub fn duration(seconds: f64) -> String {
    let total = if seconds.is_finite() && seconds > 0.0 { seconds.round() as u64 } else { 0 };
    format!("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60)
}

/// ISO 8601 with an explicit offset, the way Re:amaze's examples write it:
/// `2024-01-01T00:00:00+00:00`.
fn iso(at: OffsetDateTime) -> String {
    let layout = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
    );
    at.format(layout).unwrap_or_default()
}

/// Unix seconds as ISO 8601 in UTC; `None` when out of range.
pub fn unix_to_iso(seconds: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp(seconds).ok().map(iso)
}

/// An RFC 3339 time from a provider, re-written in the same form as
/// `unix_to_iso` (fractions dropped, offset kept). `None` when it does not
/// parse, so a garbled time is left out rather than sent on to be refused.
pub fn normalize_iso(text: &str) -> Option<String> {
    OffsetDateTime::parse(text.trim(), &Rfc3339).ok().map(iso)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration(120.0), "0:02:00");
        assert_eq!(duration(16.59), "0:00:17");
        assert_eq!(duration(3600.0 * 25.0 + 61.0), "25:01:01");
        assert_eq!(duration(-3.0), "0:00:00");
        assert_eq!(duration(f64::NAN), "0:00:00");
    }

    #[test]
    fn times() {
        assert_eq!(unix_to_iso(1704067200).unwrap(), "2024-01-01T00:00:00+00:00");
        assert_eq!(normalize_iso("2024-07-30T14:41:00Z").unwrap(), "2024-07-30T14:41:00+00:00");
        assert_eq!(normalize_iso("2026-05-20T18:30:00.000000Z").unwrap(), "2026-05-20T18:30:00+00:00");
        assert_eq!(normalize_iso("2024-07-30T16:41:00+02:00").unwrap(), "2024-07-30T16:41:00+02:00");
        assert_eq!(normalize_iso("yesterday"), None);
    }
}
