//! Money and rates with integer arithmetic only.
//!
//! Taobao sends amounts as decimal yuan strings (`"12.34"`) and rates as percent strings
//! (`"10.00"` = 10%); Kuaishou sends rates in per mille; Douyin in ten-thousandths (which is basis
//! points). Everything becomes fen (`i64`) and basis points (`u32`), exactly, or an error.

use crate::Error;

/// Parses a non-negative decimal string with at most `scale` significant fraction digits into
/// an integer scaled by `10^scale` (`"12.34"`, 2 → 1234). Trailing zeros beyond `scale` are
/// accepted (`"1.500"`); other extra digits, signs, exponents, blanks and empty parts are not.
pub fn parse_scaled(s: &str, scale: u32) -> Result<i64, Error> {
    let bad = |why: &str| Error::Malformed(format!("amount `{s}` {why}"));
    if s.is_empty() {
        return Err(bad("is empty"));
    }
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("is not a non-negative decimal number"));
    }
    let mut value: i64 = 0;
    for b in int.bytes() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(b - b'0')))
            .ok_or_else(|| bad("is too large"))?;
    }
    let frac = frac.unwrap_or("");
    if s.contains('.') && frac.is_empty() {
        return Err(bad("has no digits after the point"));
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("is not a non-negative decimal number"));
    }
    let (kept, rest) = frac.split_at(frac.len().min(scale as usize));
    if rest.bytes().any(|b| b != b'0') {
        return Err(bad(&format!("has more than {scale} decimal places")));
    }
    for i in 0..scale as usize {
        let digit = kept.as_bytes().get(i).map_or(0, |b| i64::from(b - b'0'));
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(digit))
            .ok_or_else(|| bad("is too large"))?;
    }
    Ok(value)
}

/// `"12.34"` yuan → 1234 fen.
pub fn yuan_to_fen(s: &str) -> Result<i64, Error> {
    parse_scaled(s, 2)
}

/// A percent string (`"10.00"`, `"7.5"`) → basis points (1000, 750), at most 100%.
pub fn percent_to_bp(s: &str) -> Result<u32, Error> {
    let bp = parse_scaled(s, 2)?;
    u32::try_from(bp)
        .ok()
        .filter(|bp| *bp <= 10_000)
        .ok_or_else(|| Error::Malformed(format!("rate `{s}`% is above 100%")))
}

/// A rate in per mille (Kuaishou `commissionRate`, 100 = 10%) → basis points.
pub fn per_mille_to_bp(per_mille: i64) -> Result<u32, Error> {
    if !(0..=1000).contains(&per_mille) {
        return Err(Error::Malformed(format!(
            "rate {per_mille}‰ is not between 0 and 1000"
        )));
    }
    Ok(per_mille as u32 * 10)
}

/// A rate in ten-thousandths (Douyin `commission_rate`, 3500 = 35%) → basis points (the same
/// number), checked to be within 0..=100%.
pub fn ten_thousandths_to_bp(rate: i64) -> Result<u32, Error> {
    if !(0..=10_000).contains(&rate) {
        return Err(Error::Malformed(format!(
            "rate {rate}/10000 is not between 0 and 10000"
        )));
    }
    Ok(rate as u32)
}

/// A non-negative amount in fen, or an error naming the field.
pub fn non_negative(field: &str, fen: i64) -> Result<i64, Error> {
    if fen < 0 {
        return Err(Error::Malformed(format!("{field} is negative ({fen})")));
    }
    Ok(fen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_strings_to_fen_exactly() {
        assert_eq!(yuan_to_fen("12.34").unwrap(), 1234);
        assert_eq!(yuan_to_fen("0.01").unwrap(), 1);
        assert_eq!(yuan_to_fen("0.1").unwrap(), 10);
        assert_eq!(yuan_to_fen("7").unwrap(), 700);
        assert_eq!(yuan_to_fen("1.500").unwrap(), 150);
        assert_eq!(yuan_to_fen("0").unwrap(), 0);
        // 0.29 is not exactly representable as a float; the integer path is exact.
        assert_eq!(yuan_to_fen("1234567.29").unwrap(), 123_456_729);
        assert_eq!(yuan_to_fen("92233720368547758.07").unwrap(), i64::MAX);
    }

    #[test]
    fn bad_amounts_are_errors() {
        for s in [
            "",
            "-1.00",
            "+1",
            "1.",
            ".5",
            "1.234",
            "1e3",
            " 1",
            "1,00",
            "abc",
            "1.2.3",
            "92233720368547758.08",
            "99999999999999999999",
        ] {
            assert!(
                matches!(yuan_to_fen(s), Err(Error::Malformed(_))),
                "{s:?} should be rejected"
            );
        }
    }

    #[test]
    fn rates() {
        assert_eq!(percent_to_bp("10.00").unwrap(), 1000);
        assert_eq!(percent_to_bp("7.5").unwrap(), 750);
        assert_eq!(percent_to_bp("0.01").unwrap(), 1);
        assert_eq!(percent_to_bp("100").unwrap(), 10_000);
        assert!(percent_to_bp("100.01").is_err());
        assert!(percent_to_bp("0.001").is_err());
        assert_eq!(per_mille_to_bp(200).unwrap(), 2000);
        assert!(per_mille_to_bp(-1).is_err());
        assert!(per_mille_to_bp(1001).is_err());
        assert_eq!(ten_thousandths_to_bp(3500).unwrap(), 3500);
        assert!(ten_thousandths_to_bp(10_001).is_err());
        assert!(non_negative("pay_amount", -1).is_err());
    }
}
