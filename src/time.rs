//! Time as the bridge reads and writes it: durations and dates as they
//! read in an agent's timeline, RFC 3339 dates normalized, and HTTP dates
//! (`Retry-After`) parsed.
//!
//! The date arithmetic is written here rather than taken from the `time`
//! crate: the bridge needs three small things (Unix seconds to ISO 8601,
//! RFC 3339 normalized, HTTP dates read), and `time` weighed on every wasm
//! build (BENCHMARKS.md). The calendar conversion is
//! Howard Hinnant's `days_from_civil` / `civil_from_days`, exact for the
//! proleptic Gregorian calendar.

/// Seconds as `H:MM:SS` (`0:02:00`), rounded to the nearest second.
/// Negative or non-finite input reads as `0:00:00`.
pub fn duration(seconds: f64) -> String {
    let total = if seconds.is_finite() && seconds > 0.0 { seconds.round() as u64 } else { 0 };
    let hours = total / 3600;
    let mut out = String::with_capacity(8);
    push_padded(&mut out, hours, hours.checked_ilog10().unwrap_or(0) + 1);
    out.push(':');
    push_padded(&mut out, total / 60 % 60, 2);
    out.push(':');
    push_padded(&mut out, total % 60, 2);
    out
}

/// The last `width` decimal digits of `n`, zero-padded. Written out rather
/// than through `format!`, whose machinery, in the size-optimized wasm
/// builds, costs more than the rest of a message's times together.
fn push_padded(out: &mut String, n: u64, width: u32) {
    let mut digits = [b'0'; 20];
    let width = width as usize;
    let mut n = n;
    for slot in digits[..width].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend(digits[..width].iter().map(|&digit| char::from(digit)));
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Unix seconds as ISO 8601 in UTC with an explicit offset, the way
/// Re:amaze's examples write it: `2024-01-01T00:00:00+00:00`. `None`
/// outside years 0 to 9999.
pub fn unix_to_iso(seconds: i64) -> Option<String> {
    iso(seconds, None)
}

fn iso(seconds: i64, millis: Option<u16>) -> Option<String> {
    let (days, secs) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return None;
    }
    // Digits written into place: this runs for every message.
    let mut out = *b"0000-00-00T00:00:00.000+00:00";
    let secs = secs as u32;
    let fields = [
        (0, 4, year as u32),
        (5, 2, month),
        (8, 2, day),
        (11, 2, secs / 3600),
        (14, 2, secs / 60 % 60),
        (17, 2, secs % 60),
    ];
    for (at, width, value) in fields {
        put_digits(&mut out[at..at + width], value);
    }
    let text = match millis {
        Some(millis) => {
            put_digits(&mut out[20..23], u32::from(millis.min(999)));
            &out[..]
        }
        None => {
            out.copy_within(23.., 19);
            &out[..25]
        }
    };
    Some(text.iter().map(|&digit| char::from(digit)).collect())
}

/// `value`'s last decimal digits into `slots`, zero-padded.
fn put_digits(slots: &mut [u8], mut value: u32) {
    for slot in slots.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Unix seconds and a millisecond within that second, as `unix_to_iso`
/// writes them with the milliseconds: `2024-01-01T00:00:00.300+00:00`.
pub fn unix_to_iso_ms(seconds: i64, millis: u16) -> Option<String> {
    iso(seconds, Some(millis))
}

/// Reads `count` ASCII digits at `at`.
fn digits(bytes: &[u8], at: usize, count: usize) -> Option<u32> {
    let slice = bytes.get(at..at + count)?;
    slice.iter().try_fold(0u32, |n, b| b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0')))
}

/// An RFC 3339 time from a provider (`2024-07-30T14:41:00Z`,
/// `…T16:41:00.250+02:00`) re-written in the form of `unix_to_iso`:
/// fractions dropped, the offset kept (`Z` as `+00:00`). `None` when it is
/// not a valid RFC 3339 time, so a garbled one is left out rather than sent
/// on to be refused.
pub fn normalize_iso(text: &str) -> Option<String> {
    let text = text.trim();
    let b = text.as_bytes();
    let (year, month, day) = (digits(b, 0, 4)?, digits(b, 5, 2)?, digits(b, 8, 2)?);
    let (hour, minute, second) = (digits(b, 11, 2)?, digits(b, 14, 2)?, digits(b, 17, 2)?);
    let separators = b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
        && matches!(b.get(10), Some(b'T' | b't' | b' '))
        && b.get(13) == Some(&b':')
        && b.get(16) == Some(&b':');
    let date_ok = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(i64::from(year), month);
    // 60 is a leap second, which RFC 3339 allows.
    if !separators || !date_ok || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut at = 19;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        if at == start {
            return None;
        }
    }
    // Checked, the text is copied rather than formatted again: its digits
    // are already the ones wanted, and this runs for most events.
    let mut out = String::with_capacity(25);
    out.push_str(&text[..10]);
    out.push('T');
    out.push_str(&text[11..19]);
    match b.get(at)? {
        b'Z' | b'z' if at + 1 == b.len() => out.push_str("+00:00"),
        b'+' | b'-' if at + 6 == b.len() && b[at + 3] == b':' => {
            let (oh, om) = (digits(b, at + 1, 2)?, digits(b, at + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            out.push_str(&text[at..]);
        }
        _ => return None,
    }
    Some(out)
}

/// An RFC 3339 time (as `normalize_iso` reads it) as Unix seconds.
pub fn iso_to_unix(text: &str) -> Option<i64> {
    let iso = normalize_iso(text)?;
    let b = iso.as_bytes();
    let number = |at: usize, count: usize| digits(b, at, count).map(i64::from);
    let days = days_from_civil(number(0, 4)?, digits(b, 5, 2)?, digits(b, 8, 2)?);
    let clock = number(11, 2)? * 3600 + number(14, 2)? * 60 + number(17, 2)?;
    let offset = (number(20, 2)? * 60 + number(23, 2)?) * 60;
    let offset = if b[19] == b'-' { -offset } else { offset };
    Some(days * 86_400 + clock - offset)
}

/// An HTTP date in its one current form (IMF-fixdate, RFC 9110):
/// `Sun, 06 Nov 1994 08:49:37 GMT`, as Unix seconds.
pub fn parse_http_date(text: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [weekday, day, month, year, clock, "GMT"] = parts.as_slice() else { return None };
    if weekday.len() != 4 || !weekday.ends_with(',') {
        return None;
    }
    let month = MONTHS.iter().position(|m| m == month)? as u32 + 1;
    let (day, year) = (day.parse::<u32>().ok()?, year.parse::<i64>().ok()?);
    let c = clock.as_bytes();
    if c.len() != 8 || c[2] != b':' || c[5] != b':' || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let (h, m, s) = (digits(c, 0, 2)?, digits(c, 3, 2)?, digits(c, 6, 2)?);
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + i64::from(h * 3600 + m * 60 + s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration(120.0), "0:02:00");
        assert_eq!(duration(16.59), "0:00:17");
        assert_eq!(duration(3600.0 * 25.0 + 61.0), "25:01:01");
        assert_eq!(duration(31.0 * 86_400.0), "744:00:00");
        assert_eq!(duration(36_000.0), "10:00:00");
        assert_eq!(duration(-3.0), "0:00:00");
        assert_eq!(duration(f64::NAN), "0:00:00");
    }

    #[test]
    fn unix_times() {
        assert_eq!(unix_to_iso(0).unwrap(), "1970-01-01T00:00:00+00:00");
        assert_eq!(unix_to_iso(1704067200).unwrap(), "2024-01-01T00:00:00+00:00");
        assert_eq!(unix_to_iso(951_782_400).unwrap(), "2000-02-29T00:00:00+00:00");
        assert_eq!(unix_to_iso(4_102_444_799).unwrap(), "2099-12-31T23:59:59+00:00");
        assert_eq!(unix_to_iso(-1).unwrap(), "1969-12-31T23:59:59+00:00");
        assert_eq!(unix_to_iso(253_402_300_800), None, "year 10000");
    }

    /// Every day for 800 years round-trips through the calendar (an
    /// independent check: consecutive day counts give consecutive dates).
    #[test]
    fn calendar_round_trips() {
        let mut previous = civil_from_days(days_from_civil(1800, 1, 1) - 1);
        for days in days_from_civil(1800, 1, 1)..days_from_civil(2600, 1, 1) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            let next_day = d == previous.2 + 1 && m == previous.1 && y == previous.0;
            let next_month = d == 1 && previous.2 == days_in_month(previous.0, previous.1);
            assert!(next_day || next_month, "{previous:?} then {:?}", (y, m, d));
            previous = (y, m, d);
        }
    }

    #[test]
    fn rfc3339_times() {
        assert_eq!(normalize_iso("2024-07-30T14:41:00Z").unwrap(), "2024-07-30T14:41:00+00:00");
        assert_eq!(normalize_iso("2026-05-20T18:30:00.000000Z").unwrap(), "2026-05-20T18:30:00+00:00");
        assert_eq!(normalize_iso("2024-07-30T16:41:00+02:00").unwrap(), "2024-07-30T16:41:00+02:00");
        assert_eq!(normalize_iso("2024-02-29t08:00:00-05:30").unwrap(), "2024-02-29T08:00:00-05:30");
        for bad in [
            "yesterday",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00+0200",
            "2024-01-01T00:00:00Zjunk",
            "2024-1-01T00:00:00Z",
        ] {
            assert_eq!(normalize_iso(bad), None, "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_valid_rfc3339_time_is_rewritten_from_its_parts(
            year in 0u32..=9999, month in 1u32..=12, day in 1u32..=28, hour in 0u32..=23, minute in 0u32..=59,
            second in 0u32..=60, t in "[Tt ]", fraction in proptest::option::of("[0-9]{1,9}"),
            offset in proptest::option::of((proptest::bool::ANY, 0u32..=23, 0u32..=59)), z in "[Zz]",
        ) {
            let clock = format!("{year:04}-{month:02}-{day:02}{t}{hour:02}:{minute:02}:{second:02}");
            let fraction = fraction.map(|f| format!(".{f}")).unwrap_or_default();
            let offset = offset.map(|(minus, h, m)| format!("{}{h:02}:{m:02}", if minus { '-' } else { '+' }));
            let text = format!("{clock}{fraction}{}", offset.as_deref().unwrap_or(&z));
            let want = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{}", offset.as_deref().unwrap_or("+00:00"));
            proptest::prop_assert_eq!(normalize_iso(&text), Some(want));
        }

        #[test]
        fn any_text_is_read_without_a_panic(text in "\\PC{0,40}", prefix in "[0-9T:. +-]{0,30}") {
            let _ = normalize_iso(&text);
            let _ = normalize_iso(&format!("{prefix}{text}"));
        }
    }

    #[test]
    fn rfc3339_times_as_unix_seconds() {
        assert_eq!(iso_to_unix("2024-01-01T00:02:00Z"), Some(1_704_067_320));
        assert_eq!(
            iso_to_unix("2024-01-01T01:02:00.750+01:00"),
            Some(1_704_067_320),
            "offset applied, fraction dropped"
        );
        assert_eq!(iso_to_unix("2023-12-31T19:02:00-05:00"), Some(1_704_067_320));
        assert_eq!(iso_to_unix("2024-02-30T00:00:00Z"), None);
        assert_eq!(iso_to_unix("yesterday"), None);
    }

    #[test]
    fn http_dates() {
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(parse_http_date("Mon, 01 Jan 2024 00:01:00 GMT"), Some(1_704_067_260));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("Mon, 31 Feb 2024 00:00:00 GMT"), None);
    }
}
