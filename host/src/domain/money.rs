//! Exact money arithmetic. Amounts are integer fen; rates make fractions of a fen, so every
//! computed amount is kept as an exact fraction of fen ([`Exact`], i128 numerator and
//! denominator) and rounded to the fen once, at the end, half away from zero (design §6a).

use std::cmp::Ordering;
use std::fmt;

/// An exact amount of fen: `num / den`, with `den > 0` and the fraction in lowest terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exact {
    num: i128,
    den: i128,
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Exact {
    pub const ZERO: Exact = Exact { num: 0, den: 1 };

    pub fn fen(fen: i64) -> Self {
        Exact {
            num: fen as i128,
            den: 1,
        }
    }

    /// `num / den` fen; `den` must not be zero.
    pub fn ratio(num: i128, den: i128) -> Self {
        assert!(den != 0, "zero denominator");
        let sign = if den < 0 { -1 } else { 1 };
        let g = gcd(num, den).max(1);
        Exact {
            num: sign * num / g,
            den: sign * den / g,
        }
    }

    /// This amount times `num / den` (e.g. a rate in basis points: `times(bp, 10_000)`).
    pub fn times(self, num: i128, den: i128) -> Self {
        Exact::ratio(self.num * num, self.den * den)
    }

    pub fn is_integer(self) -> bool {
        self.den == 1
    }

    pub fn is_negative(self) -> bool {
        self.num < 0
    }

    /// Rounded to the fen, half away from zero.
    pub fn round(self) -> i64 {
        let q = self.num / self.den;
        let r = self.num % self.den;
        let q = if 2 * r.abs() >= self.den {
            q + self.num.signum()
        } else {
            q
        };
        q as i64
    }

    pub fn max(self, other: Exact) -> Exact {
        if self >= other { self } else { other }
    }
}

impl std::ops::Add for Exact {
    type Output = Exact;
    fn add(self, o: Exact) -> Exact {
        Exact::ratio(self.num * o.den + o.num * self.den, self.den * o.den)
    }
}

impl std::ops::Sub for Exact {
    type Output = Exact;
    fn sub(self, o: Exact) -> Exact {
        Exact::ratio(self.num * o.den - o.num * self.den, self.den * o.den)
    }
}

impl std::ops::Neg for Exact {
    type Output = Exact;
    fn neg(self) -> Exact {
        Exact {
            num: -self.num,
            den: self.den,
        }
    }
}

impl PartialOrd for Exact {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Exact {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.num * o.den).cmp(&(o.num * self.den))
    }
}

impl Exact {
    /// `"12.5"` when the fraction ends within 6 decimals, else `"37/3 (≈ 12.333333)"`.
    pub fn decimal(self) -> String {
        let (text, exact) = self.decimal_parts();
        if exact {
            text
        } else {
            format!("{}/{} (≈ {text})", self.num, self.den)
        }
    }

    fn decimal_parts(self) -> (String, bool) {
        if self.den == 1 {
            return (group(self.num), true);
        }
        let scaled = Exact::ratio(self.num * 1_000_000, self.den);
        let sign = if self.num < 0 { "-" } else { "" };
        let abs = scaled.num.abs() / scaled.den;
        let frac = format!("{:06}", abs % 1_000_000);
        let text = format!(
            "{sign}{}.{}",
            group(abs / 1_000_000),
            frac.trim_end_matches('0')
        );
        (text, scaled.den == 1)
    }
}

/// `"12.5 fen"` when the fraction ends within 6 decimals, else `"37/3 fen (≈ 12.333333)"`.
impl fmt::Display for Exact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (text, exact) = self.decimal_parts();
        if exact {
            write!(f, "{text} fen")
        } else {
            write!(f, "{}/{} fen (≈ {text})", self.num, self.den)
        }
    }
}

fn group(n: i128) -> String {
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// `"1,234,567 fen (¥12,345.67)"`.
pub fn fen(amount: i64) -> String {
    let yuan = group(amount as i128 / 100);
    let yuan = if amount < 0 && amount > -100 {
        format!("-{yuan}")
    } else {
        yuan
    };
    format!(
        "{} fen (¥{yuan}.{:02})",
        group(amount as i128),
        (amount % 100).abs()
    )
}

/// Yuan as people read it: `"¥1,234.56"`, `"-¥0.50"`.
pub fn cny(amount: i64) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let a = amount.unsigned_abs();
    format!("{sign}¥{}.{:02}", group((a / 100) as i128), a % 100)
}

/// Yuan with two decimals and no grouping, for CSV: `"12345.67"`.
pub fn yuan(amount: i64) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let a = amount.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// `"20%"`, `"12.5%"` for a rate in basis points.
pub fn percent(bp: i64) -> String {
    if bp % 100 == 0 {
        format!("{}%", bp / 100)
    } else {
        let s = format!("{}.{:02}", bp / 100, bp % 100);
        format!("{}%", s.trim_end_matches('0'))
    }
}

/// Reads a price written in yuan, as people write it in a sheet (`199`, `199.9`, `1,299.00`,
/// `¥199`, `￥ 199.5`, `199元`), to exact fen. `None` for anything else: more than two decimals
/// that are not zeros, a negative or an empty amount, or one beyond [`super::validation::MAX_FEN`].
pub fn parse_yuan(text: &str) -> Option<i64> {
    let t = text.trim();
    let t = t
        .strip_prefix('¥')
        .or_else(|| t.strip_prefix('￥'))
        .unwrap_or(t)
        .trim_start();
    let t = t.strip_suffix('元').unwrap_or(t).trim_end();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    // Thousands separators only between groups of three digits.
    let groups: Vec<&str> = whole.split(',').collect();
    let grouped_ok = groups.len() == 1
        || (!groups[0].is_empty()
            && groups[0].len() <= 3
            && groups[1..].iter().all(|g| g.len() == 3));
    let whole: String = groups.concat();
    if whole.is_empty() && frac.is_empty()
        || !grouped_ok
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || whole.len() > 15
    {
        return None;
    }
    let (cents, rest) = frac.split_at(frac.len().min(2));
    if rest.bytes().any(|b| b != b'0') {
        return None;
    }
    let yuan: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let cents: i64 = format!("{cents:0<2}").parse().ok()?;
    let fen = yuan.checked_mul(100)?.checked_add(cents)?;
    (fen <= super::validation::MAX_FEN).then_some(fen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_yuan_as_people_write_it() {
        for (text, fen) in [
            ("199", 19_900),
            ("199.9", 19_990),
            ("199.90", 19_990),
            ("0.01", 1),
            (".5", 50),
            ("1,299.00", 129_900),
            ("12,345,678.91", 1_234_567_891),
            ("¥199", 19_900),
            ("￥ 199.5", 19_950),
            ("88元", 8_800),
            (" 7.000 ", 700),
        ] {
            assert_eq!(parse_yuan(text), Some(fen), "{text}");
        }
        for bad in [
            "",
            "¥",
            "-1",
            "1.005",
            "1.2.3",
            "12,34",
            ",123",
            "1e3",
            "abc",
            "199 元 5",
            "1 000",
            "99999999999999999",
        ] {
            assert_eq!(parse_yuan(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(Exact::ratio(25, 10).round(), 3); // 2.5 -> 3
        assert_eq!(Exact::ratio(-25, 10).round(), -3); // -2.5 -> -3
        assert_eq!(Exact::ratio(249, 100).round(), 2);
        assert_eq!(Exact::ratio(-251, 100).round(), -3);
        assert_eq!(Exact::ratio(1, 3).round(), 0);
        assert_eq!(Exact::ratio(2, 3).round(), 1);
        assert_eq!(Exact::ratio(-1, 2).round(), -1);
        assert_eq!(Exact::fen(7).round(), 7);
    }

    #[test]
    fn exact_sums_do_not_drift() {
        // 3 x 1/3 fen is exactly 1 fen, where rounding each third would give 0.
        let third = Exact::ratio(1, 3);
        assert_eq!((third + third + third).round(), 1);
        assert_eq!(Exact::fen(12_345).times(1000, 10_000).round(), 1235); // 1234.5 -> 1235
    }

    #[test]
    fn rounding_matches_a_reference_over_many_fractions() {
        // Property: for every num/den, round() is the nearest integer, ties away from zero.
        for den in 1..=40i128 {
            for num in -400..=400i128 {
                let r = Exact::ratio(num, den).round() as i128;
                let twice = 2 * num; // compare 2*num against den*(2r±1) exactly
                assert!(
                    twice >= den * (2 * r - 1) && twice <= den * (2 * r + 1),
                    "{num}/{den} -> {r}"
                );
                // A tie (x.5) lands on the neighbour further from zero.
                if twice == den * (2 * r - 1) {
                    assert!(r >= 1, "{num}/{den}: only a positive tie rounds up to {r}");
                }
                if twice == den * (2 * r + 1) {
                    assert!(
                        r <= -1,
                        "{num}/{den}: only a negative tie rounds down to {r}"
                    );
                }
            }
        }
    }

    #[test]
    fn formats() {
        assert_eq!(fen(123_456_789), "123,456,789 fen (¥1,234,567.89)");
        assert_eq!(fen(-5), "-5 fen (¥-0.05)");
        assert_eq!(fen(-12_345), "-12,345 fen (¥-123.45)");
        assert_eq!(yuan(-12_345), "-123.45");
        assert_eq!(percent(2000), "20%");
        assert_eq!(percent(1250), "12.5%");
        assert_eq!(Exact::ratio(25, 2).to_string(), "12.5 fen");
        assert_eq!(Exact::ratio(-25, 2).to_string(), "-12.5 fen");
        assert_eq!(Exact::ratio(37, 3).to_string(), "37/3 fen (≈ 12.333333)");
        assert_eq!(Exact::fen(1_000_000).to_string(), "1,000,000 fen");
        assert_eq!(Exact::ratio(-1, 3).to_string(), "-1/3 fen (≈ -0.333333)");
        assert_eq!(Exact::ratio(80, 1).decimal(), "80");
    }
}
