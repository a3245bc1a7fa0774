//! Individual income tax withheld on labour remuneration (劳务报酬), per payment (design §6a).
//!
//! For one payment of `income`:
//! - taxable = income − 800 yuan when income ≤ 4,000 yuan (never below 0), else income × 80%;
//! - tax = taxable × 20% when taxable ≤ 20,000 yuan; × 30% − 2,000 when ≤ 50,000; else
//!   × 40% − 7,000.
//!
//! Amounts are fen; the taxable amount and the tax are kept exact and the tax is rounded to the
//! fen once, half away from zero. A payment of zero or less withholds nothing. KOLs paid
//! through a company are not withheld (see [`withholding`]).

use super::TaxStatus;
use super::money::{self, Exact};

/// 800 yuan, the fixed deduction for small payments.
pub const FIXED_DEDUCTION_FEN: i64 = 80_000;
/// 4,000 yuan: above it the deduction is 20% of the income.
pub const SMALL_PAYMENT_LIMIT_FEN: i64 = 400_000;

/// The brackets: (taxable up to, in fen; rate in percent; quick deduction in fen).
const BRACKETS: [(Option<i64>, i128, i64); 3] = [
    (Some(2_000_000), 20, 0),
    (Some(5_000_000), 30, 200_000),
    (None, 40, 700_000),
];

/// A tax computation, with the steps written out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withholding {
    pub income_fen: i64,
    pub taxable: Exact,
    pub tax_fen: i64,
    pub how: String,
}

/// Tax withheld from one payment of `income_fen` to a KOL with `status`.
pub fn withholding(status: TaxStatus, income_fen: i64) -> Withholding {
    match status {
        TaxStatus::Individual => labour_remuneration(income_fen),
        TaxStatus::Company => Withholding {
            income_fen,
            taxable: Exact::ZERO,
            tax_fen: 0,
            how: format!(
                "paid through a company (tax_status company): no individual income tax withheld on {}",
                money::fen(income_fen)
            ),
        },
    }
}

/// Labour-remuneration withholding on one payment.
pub fn labour_remuneration(income_fen: i64) -> Withholding {
    if income_fen <= 0 {
        return Withholding {
            income_fen,
            taxable: Exact::ZERO,
            tax_fen: 0,
            how: format!(
                "labour remuneration (劳务报酬): a payment of {} withholds nothing",
                money::fen(income_fen)
            ),
        };
    }
    let income = Exact::fen(income_fen);
    let (taxable, step1) = if income_fen <= SMALL_PAYMENT_LIMIT_FEN {
        let t = (income - Exact::fen(FIXED_DEDUCTION_FEN)).max(Exact::ZERO);
        (
            t,
            format!(
                "income {} ≤ 4,000 yuan, so taxable = income − 800 yuan = {t}",
                money::fen(income_fen)
            ),
        )
    } else {
        let t = income.times(80, 100);
        (
            t,
            format!(
                "income {} > 4,000 yuan, so taxable = income × 80% = {t}",
                money::fen(income_fen)
            ),
        )
    };
    let (limit, rate, quick) = BRACKETS
        .iter()
        .copied()
        .find(|(limit, _, _)| limit.is_none_or(|l| taxable <= Exact::fen(l)))
        .expect("the last bracket is open");
    let tax = taxable.times(rate, 100) - Exact::fen(quick);
    let tax = tax.max(Exact::ZERO);
    let tax_fen = tax.round();
    let bracket = match limit {
        Some(l) => format!("taxable ≤ {}", money::fen(l)),
        None => "taxable > 50,000 yuan".to_owned(),
    };
    let step2 = if quick == 0 {
        format!("{bracket}: tax = taxable × {rate}% = {tax}")
    } else {
        format!(
            "{bracket}: tax = taxable × {rate}% − {} = {tax}",
            money::fen(quick)
        )
    };
    let how = format!(
        "labour remuneration (劳务报酬), withheld per payment: {step1}; {step2}; rounded half away from zero: {}",
        money::fen(tax_fen)
    );
    Withholding {
        income_fen,
        taxable,
        tax_fen,
        how,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YUAN: i64 = 100;

    #[test]
    fn worked_examples() {
        // 3,000 yuan: ≤ 4,000, taxable = 3,000 − 800 = 2,200; ≤ 20,000, tax = 2,200 × 20% = 440.
        let w = labour_remuneration(3_000 * YUAN);
        assert_eq!(w.taxable, Exact::fen(2_200 * YUAN));
        assert_eq!(w.tax_fen, 440 * YUAN);
        // 10,000 yuan: > 4,000, taxable = 10,000 × 80% = 8,000; tax = 8,000 × 20% = 1,600.
        assert_eq!(labour_remuneration(10_000 * YUAN).tax_fen, 1_600 * YUAN);
        // 30,000 yuan: taxable = 24,000 (> 20,000, ≤ 50,000); tax = 24,000 × 30% − 2,000 = 5,200.
        let w = labour_remuneration(30_000 * YUAN);
        assert_eq!(w.taxable, Exact::fen(24_000 * YUAN));
        assert_eq!(w.tax_fen, 5_200 * YUAN);
        // 100,000 yuan: taxable = 80,000 (> 50,000); tax = 80,000 × 40% − 7,000 = 25,000.
        assert_eq!(labour_remuneration(100_000 * YUAN).tax_fen, 25_000 * YUAN);
    }

    #[test]
    fn edges_and_rounding() {
        // 800 yuan or less: taxable 0, nothing withheld.
        assert_eq!(labour_remuneration(800 * YUAN).tax_fen, 0);
        assert_eq!(labour_remuneration(500 * YUAN).tax_fen, 0);
        assert_eq!(labour_remuneration(0).tax_fen, 0);
        assert_eq!(labour_remuneration(-10_000).tax_fen, 0);
        // 4,000 yuan exactly: taxable 3,200, tax 640; one fen more: taxable 320,000.8 fen,
        // tax = 64,000.16 fen, rounded to 64,000 fen.
        assert_eq!(labour_remuneration(4_000 * YUAN).tax_fen, 640 * YUAN);
        let w = labour_remuneration(400_001);
        assert_eq!(w.taxable, Exact::ratio(1_600_004, 5));
        assert_eq!(w.tax_fen, 64_000);
        // 1,234.57 yuan: taxable 43,457 fen, tax 8,691.4 fen -> 8,691 fen.
        assert_eq!(labour_remuneration(123_457).tax_fen, 8_691);
        // 4,321.03 yuan = 432,103 fen: taxable 345,682.4, tax 69,136.48 -> 69,136 fen.
        assert_eq!(labour_remuneration(432_103).tax_fen, 69_136);
        // 25,000.03 yuan: taxable 2,000,002.4 fen (30% bracket): 600,000.72 − 200,000 = 400,000.72 -> 400,001.
        assert_eq!(labour_remuneration(2_500_003).tax_fen, 400_001);
    }

    #[test]
    fn brackets_join_without_jumps_and_tax_never_falls_as_income_rises() {
        // Property over a sweep: tax is monotonic in income and below 40% of it.
        let mut last = 0;
        let mut income = 0;
        while income <= 200_000 * YUAN {
            let t = labour_remuneration(income).tax_fen;
            assert!(t >= last, "tax fell at {income}");
            assert!(t * 10 <= income * 4, "more than 40% at {income}");
            last = t;
            income += 7_919; // a prime step, to land on odd fen
        }
        // At the joins the two formulas agree: taxable 20,000 -> 4,000; 50,000 -> 13,000.
        assert_eq!(labour_remuneration(25_000 * YUAN).tax_fen, 4_000 * YUAN);
        assert_eq!(labour_remuneration(62_500 * YUAN).tax_fen, 13_000 * YUAN);
    }

    #[test]
    fn companies_are_not_withheld() {
        let w = withholding(TaxStatus::Company, 100_000 * YUAN);
        assert_eq!(w.tax_fen, 0);
        assert!(w.how.contains("company"));
    }
}
