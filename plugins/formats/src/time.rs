//! Times: Unix seconds or milliseconds and the platforms' local `yyyy-MM-dd HH:mm:ss` (China
//! Standard Time, GMT+8, no daylight saving) to and from RFC 3339 UTC, with a civil-date
//! calculation (Howard Hinnant's `days_from_civil` / `civil_from_days`), no date crate.

use crate::Error;

/// China Standard Time, the zone of every platform-local time here.
pub const GMT8_OFFSET_SECS: i64 = 8 * 3600;

/// The latest accepted instant: 9999-12-31T23:59:59Z.
const MAX_SECS: i64 = 253_402_300_799;

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn split(unix_secs: i64) -> (i64, u32, u32, i64, i64, i64) {
    let days = unix_secs.div_euclid(86_400);
    let secs = unix_secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    (y, m, d, secs / 3600, (secs / 60) % 60, secs % 60)
}

fn check_range(unix_secs: i64) -> Result<i64, Error> {
    if !(0..=MAX_SECS).contains(&unix_secs) {
        return Err(Error::Malformed(format!(
            "time {unix_secs} (Unix seconds) is out of range"
        )));
    }
    Ok(unix_secs)
}

/// Unix seconds → `2021-08-30T06:33:55Z`; 1970 to 9999 only.
pub fn rfc3339_from_unix(unix_secs: i64) -> Result<String, Error> {
    let (y, m, d, hh, mm, ss) = split(check_range(unix_secs)?);
    Ok(format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z"))
}

/// Unix milliseconds → RFC 3339 UTC, with milliseconds when they are not zero.
pub fn rfc3339_from_unix_ms(unix_ms: i64) -> Result<String, Error> {
    let secs = unix_ms.div_euclid(1000);
    let ms = unix_ms.rem_euclid(1000);
    let (y, m, d, hh, mm, ss) = split(check_range(secs)?);
    if ms == 0 {
        Ok(format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z"))
    } else {
        Ok(format!(
            "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{ms:03}Z"
        ))
    }
}

/// Unix seconds → `yyyy-MM-dd HH:mm:ss` in GMT+8 (the TOP `timestamp`, Douyin and Taobao
/// query times).
pub fn format_gmt8(unix_secs: i64) -> String {
    let (y, m, d, hh, mm, ss) = split(unix_secs + GMT8_OFFSET_SECS);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}")
}

/// `yyyy-MM-dd HH:mm:ss` in GMT+8 → Unix seconds. Every field is checked (month 1..=12, the
/// day within the month, 24-hour clock, no leap seconds).
pub fn parse_gmt8(s: &str) -> Result<i64, Error> {
    let bad = || Error::Malformed(format!("time `{s}` is not `yyyy-MM-dd HH:mm:ss`"));
    let b = s.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    let num = |from: usize, to: usize| -> Result<u32, Error> {
        let part = &s[from..to];
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse().map_err(|_| bad())
    };
    let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hh, mm, ss) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if d == 0 || d > month_days || hh > 23 || mm > 59 || ss > 59 {
        return Err(bad());
    }
    let local = days_from_civil(i64::from(y), m, d) * 86_400
        + i64::from(hh) * 3600
        + i64::from(mm) * 60
        + i64::from(ss);
    check_range(local - GMT8_OFFSET_SECS)
}

/// `yyyy-MM-dd HH:mm:ss` in GMT+8 → RFC 3339 UTC (`2024-01-01 08:00:00` → `2024-01-01T00:00:00Z`).
pub fn gmt8_to_rfc3339(s: &str) -> Result<String, Error> {
    rfc3339_from_unix(parse_gmt8(s)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_to_rfc3339() {
        assert_eq!(rfc3339_from_unix(0).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339_from_unix(1_630_305_235).unwrap(),
            "2021-08-30T06:33:55Z"
        );
        assert_eq!(
            rfc3339_from_unix(951_782_400).unwrap(),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            rfc3339_from_unix_ms(1_591_274_070_333).unwrap(),
            "2020-06-04T12:34:30.333Z"
        );
        assert_eq!(
            rfc3339_from_unix_ms(1_591_274_070_000).unwrap(),
            "2020-06-04T12:34:30Z"
        );
        assert!(rfc3339_from_unix(-1).is_err());
        assert!(rfc3339_from_unix(MAX_SECS + 1).is_err());
    }

    #[test]
    fn gmt8_round_trip() {
        assert_eq!(
            gmt8_to_rfc3339("2024-01-01 08:00:00").unwrap(),
            "2024-01-01T00:00:00Z"
        );
        // Crossing midnight and a month boundary backwards.
        assert_eq!(
            gmt8_to_rfc3339("2024-03-01 07:59:59").unwrap(),
            "2024-02-29T23:59:59Z"
        );
        assert_eq!(
            gmt8_to_rfc3339("2021-08-30 14:33:55").unwrap(),
            "2021-08-30T06:33:55Z"
        );
        for t in [0, 1_630_305_235, 1_709_251_199, 4_102_444_800] {
            assert_eq!(parse_gmt8(&format_gmt8(t)).unwrap(), t);
        }
        assert_eq!(format_gmt8(1_630_305_235), "2021-08-30 14:33:55");
    }

    #[test]
    fn bad_local_times() {
        for s in [
            "",
            "2024-1-01 08:00:00",
            "2024-01-01T08:00:00",
            "2023-02-29 00:00:00",
            "2024-13-01 00:00:00",
            "2024-04-31 00:00:00",
            "2024-01-00 00:00:00",
            "2024-01-01 24:00:00",
            "2024-01-01 23:60:00",
            "2024-01-01 23:59:60",
            "2024-01-01 +8:00:00",
            "1970-01-01 07:59:59",
        ] {
            assert!(parse_gmt8(s).is_err(), "{s:?}");
        }
        assert_eq!(parse_gmt8("2000-02-29 08:00:00").unwrap(), 951_782_400);
    }

    #[test]
    fn civil_days_agree() {
        for days in [-719_468, -1, 0, 1, 10_957, 11_016, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
