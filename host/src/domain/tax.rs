//! Individual income tax withheld on labour remuneration (劳务报酬) (design §6a).
//!
//! For one payment (每次) of `income`:
//! - taxable = income − 800 yuan when income ≤ 4,000 yuan (never below 0), else income × 80%;
//! - tax = taxable × 20% when taxable ≤ 20,000 yuan; × 30% − 2,000 when ≤ 50,000; else
//!   × 40% − 7,000.
//!
//! One payment is all the KOL's income from the agency in one calendar month (CST): same-project
//! continuous income (个人所得税法实施条例 第十四条). So a settlement approved in a month withholds
//! the tax on the month's total (everything approved to the KOL that month, this one included)
//! minus what was already withheld that month ([`monthly`], [`TaxMethod::PerMonth`]). A refund
//! adjustment (a negative share) lowers that month's income; if the month's tax due falls below
//! what was already withheld, the difference is negative: handed back to the KOL within the month.
//!
//! [`TaxMethod::Cumulative`] is the 2025 rule for platforms: over the tax year (CST calendar
//! year), taxable = cumulative income × 80% − 5,000 yuan × the months of the year with income
//! from the agency (this one included), the tax from 预扣率表一 (3% to 45% with quick
//! deductions), minus what was already withheld that year.
//!
//! Amounts are fen; the taxable amount and the tax are kept exact and the tax is rounded to the
//! fen once, half away from zero. A payment of zero or less withholds nothing. KOLs paid
//! through a company are not withheld.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Utc};

use super::money::{self, Exact};
use super::{TaxMethod, TaxStatus};

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
        "labour remuneration (劳务报酬), on one payment: {step1}; {step2}; rounded half away from zero: {}",
        money::fen(tax_fen)
    );
    Withholding {
        income_fen,
        taxable,
        tax_fen,
        how,
    }
}

/// China Standard Time (UTC+8), in which withholding months and years are counted.
pub fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// The CST calendar month of `at`: `("YYYY-MM", from, to)` with `[from, to)` in UTC.
pub fn cst_month(at: DateTime<Utc>) -> (String, DateTime<Utc>, DateTime<Utc>) {
    let local = at.with_timezone(&cst());
    let (y, m) = (local.year(), local.month());
    let (from, to) = (
        cst_start(y, m),
        if m == 12 {
            cst_start(y + 1, 1)
        } else {
            cst_start(y, m + 1)
        },
    );
    (format!("{y:04}-{m:02}"), from, to)
}

/// `[from, to)` in UTC of the CST month `YYYY-MM`, or `None` when it is not one.
pub fn month_bounds(month: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let (y, m) = month.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
    if !(1..=12).contains(&m) || !(1970..=9998).contains(&y) {
        return None;
    }
    let (_, from, to) = cst_month(cst_start(y, m));
    Some((from, to))
}

/// The CST calendar year of `at`, `[from, to)` in UTC.
pub fn cst_year(at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let y = at.with_timezone(&cst()).year();
    (cst_start(y, 1), cst_start(y + 1, 1))
}

fn cst_start(y: i32, m: u32) -> DateTime<Utc> {
    let d = NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("the first of a month is a date");
    cst()
        .from_local_datetime(&d)
        .single()
        .expect("UTC+8 has no gaps")
        .with_timezone(&Utc)
}

/// 预扣率表一 (cumulative, yearly): (taxable up to, in fen; rate in percent; quick deduction in fen).
const CUMULATIVE_BRACKETS: [(Option<i64>, i128, i64); 7] = [
    (Some(3_600_000), 3, 0),
    (Some(14_400_000), 10, 252_000),
    (Some(30_000_000), 20, 1_692_000),
    (Some(42_000_000), 25, 3_192_000),
    (Some(66_000_000), 30, 5_292_000),
    (Some(96_000_000), 35, 8_592_000),
    (None, 45, 18_192_000),
];

/// 5,000 yuan a month: the cumulative method's deduction.
pub const MONTHLY_DEDUCTION_FEN: i64 = 500_000;

/// What was already paid and withheld in the withholding window (the CST month, or the tax year
/// for the cumulative method) before this payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthContext {
    pub method: TaxMethod,
    /// `YYYY-MM` (CST) of the payment.
    pub month: String,
    /// KOL income approved earlier in the window (month or year).
    pub income_before_fen: i64,
    /// Tax withheld earlier in the window.
    pub withheld_before_fen: i64,
    /// Cumulative method: months of the tax year with income from the agency, this one included.
    pub months_with_income: i64,
}

impl MonthContext {
    /// Nothing paid before in `month`.
    pub fn first(method: TaxMethod, month: &str) -> Self {
        MonthContext {
            method,
            month: month.to_owned(),
            income_before_fen: 0,
            withheld_before_fen: 0,
            months_with_income: 1,
        }
    }
}

/// The withholding of one payment within its month (or year).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthlyWithholding {
    /// The window's income with this payment: before + this.
    pub total_income_fen: i64,
    /// The tax due on the window's total.
    pub tax_due_fen: i64,
    pub withheld_before_fen: i64,
    /// What this payment withholds: due − withheld before.
    pub tax_fen: i64,
    /// The taxable amount of the total, rate and quick deduction (for the declaration).
    pub taxable: Exact,
    pub rate_percent: i64,
    pub quick_deduction_fen: i64,
    /// The deduction from income (800 yuan, 20%, or the cumulative 20% + 5,000 a month).
    pub deduction: Exact,
    pub how: String,
}

/// The tax withheld from a payment of `income_fen` to a KOL with `status`, given what was paid
/// and withheld earlier in its window.
pub fn monthly(status: TaxStatus, ctx: &MonthContext, income_fen: i64) -> MonthlyWithholding {
    let total = ctx.income_before_fen + income_fen;
    if status == TaxStatus::Company {
        return MonthlyWithholding {
            total_income_fen: total,
            tax_due_fen: 0,
            withheld_before_fen: 0,
            tax_fen: 0,
            taxable: Exact::ZERO,
            rate_percent: 0,
            quick_deduction_fen: 0,
            deduction: Exact::ZERO,
            how: format!(
                "paid through a company (tax_status company): no individual income tax withheld on {}",
                money::fen(income_fen)
            ),
        };
    }
    let (taxable, rate, quick, deduction, tax_text, window) = match ctx.method {
        TaxMethod::PerMonth => {
            let w = labour_remuneration(total);
            let (rate, quick) = bracket_of(&BRACKETS, w.taxable);
            let deduction = (Exact::fen(total.max(0)) - w.taxable).max(Exact::ZERO);
            (
                w.taxable,
                rate,
                quick,
                deduction,
                w.how,
                format!("month {} (CST)", ctx.month),
            )
        }
        TaxMethod::Cumulative => {
            let c = cumulative(total, ctx.months_with_income);
            let deduction = (Exact::fen(total.max(0)) - c.taxable).max(Exact::ZERO);
            (
                c.taxable,
                c.rate,
                c.quick,
                deduction,
                c.how,
                format!(
                    "tax year to month {} (CST), cumulative method, {} month(s) with income",
                    ctx.month, ctx.months_with_income
                ),
            )
        }
    };
    let due = labour_tax_fen(total, ctx);
    let this = due - ctx.withheld_before_fen;
    let how = format!(
        "{window}: income before {} + this payment {} = {}; tax on the total: {tax_text}; already withheld {}; this withholding = {} − {} = {}",
        money::fen(ctx.income_before_fen),
        money::fen(income_fen),
        money::fen(total),
        money::fen(ctx.withheld_before_fen),
        due,
        ctx.withheld_before_fen,
        money::fen(this)
    );
    MonthlyWithholding {
        total_income_fen: total,
        tax_due_fen: due,
        withheld_before_fen: ctx.withheld_before_fen,
        tax_fen: this,
        taxable,
        rate_percent: rate as i64,
        quick_deduction_fen: quick,
        deduction,
        how,
    }
}

fn labour_tax_fen(total: i64, ctx: &MonthContext) -> i64 {
    match ctx.method {
        TaxMethod::PerMonth => labour_remuneration(total).tax_fen,
        TaxMethod::Cumulative => cumulative(total, ctx.months_with_income).tax_fen,
    }
}

fn bracket_of(table: &[(Option<i64>, i128, i64)], taxable: Exact) -> (i128, i64) {
    let (_, rate, quick) = table
        .iter()
        .copied()
        .find(|(limit, _, _)| limit.is_none_or(|l| taxable <= Exact::fen(l)))
        .expect("the last bracket is open");
    (rate, quick)
}

struct Cumulative {
    taxable: Exact,
    rate: i128,
    quick: i64,
    tax_fen: i64,
    how: String,
}

/// The cumulative method's tax on the year's `income_fen` over `months` months.
fn cumulative(income_fen: i64, months: i64) -> Cumulative {
    let deduction = Exact::fen(MONTHLY_DEDUCTION_FEN * months.max(1));
    let taxable = (Exact::fen(income_fen).times(80, 100) - deduction).max(Exact::ZERO);
    let (rate, quick) = bracket_of(&CUMULATIVE_BRACKETS, taxable);
    let tax = (taxable.times(rate, 100) - Exact::fen(quick)).max(Exact::ZERO);
    let tax_fen = tax.round();
    Cumulative {
        taxable,
        rate,
        quick,
        tax_fen,
        how: format!(
            "cumulative taxable = income {} × 80% − 5,000 yuan × {} month(s) = {taxable}; 预扣率表一 {rate}% − quick deduction {}: {tax}, rounded to {}",
            money::fen(income_fen),
            months.max(1),
            money::fen(quick),
            money::fen(tax_fen)
        ),
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

    fn month_of(before: i64, withheld: i64) -> MonthContext {
        MonthContext {
            method: TaxMethod::PerMonth,
            month: "2026-11".into(),
            income_before_fen: before,
            withheld_before_fen: withheld,
            months_with_income: 1,
        }
    }

    #[test]
    fn one_month_is_one_payment() {
        // 3,000 then 5,000 yuan in one month. First: tax on 3,000 = (3,000 − 800) × 20% = 440.
        let first = monthly(TaxStatus::Individual, &month_of(0, 0), 3_000 * YUAN);
        assert_eq!(first.tax_fen, 440 * YUAN);
        // Second: total 8,000 > 4,000: taxable 6,400, tax 1,280; already 440: withhold 840 (not 800).
        let second = monthly(
            TaxStatus::Individual,
            &month_of(3_000 * YUAN, 440 * YUAN),
            5_000 * YUAN,
        );
        assert_eq!(second.total_income_fen, 8_000 * YUAN);
        assert_eq!(second.tax_due_fen, 1_280 * YUAN);
        assert_eq!(second.tax_fen, 840 * YUAN);
        assert!(second.how.contains("already withheld"), "{}", second.how);
        // 30,000 then 40,000: first 24,000 × 30% − 2,000 = 5,200; the month's 70,000: taxable
        // 56,000 × 40% − 7,000 = 15,400; second withholds 15,400 − 5,200 = 10,200 (not 7,600).
        let a = monthly(TaxStatus::Individual, &month_of(0, 0), 30_000 * YUAN);
        assert_eq!(a.tax_fen, 5_200 * YUAN);
        let b = monthly(
            TaxStatus::Individual,
            &month_of(30_000 * YUAN, a.tax_fen),
            40_000 * YUAN,
        );
        assert_eq!(b.tax_due_fen, 15_400 * YUAN);
        assert_eq!(a.tax_fen + b.tax_fen, 15_400 * YUAN);
        // A refund adjustment later in the month lowers the month's income: −1,000 after 8,000
        // (1,280 withheld): tax on 7,000 = 5,600 × 20% = 1,120, so 160 goes back.
        let back = monthly(
            TaxStatus::Individual,
            &month_of(8_000 * YUAN, 1_280 * YUAN),
            -1_000 * YUAN,
        );
        assert_eq!(back.tax_fen, -160 * YUAN);
        // Companies: nothing.
        assert_eq!(
            monthly(TaxStatus::Company, &month_of(0, 0), 90_000 * YUAN).tax_fen,
            0
        );
    }

    #[test]
    fn cumulative_method_follows_table_one() {
        // Month 1 of the year: 10,000 yuan: taxable 10,000 × 80% − 5,000 = 3,000; × 3% = 90.
        let ctx = MonthContext {
            method: TaxMethod::Cumulative,
            month: "2026-01".into(),
            income_before_fen: 0,
            withheld_before_fen: 0,
            months_with_income: 1,
        };
        let m1 = monthly(TaxStatus::Individual, &ctx, 10_000 * YUAN);
        assert_eq!(m1.tax_fen, 90 * YUAN);
        // Month 2: 60,000 more: cumulative 70,000 × 80% − 10,000 = 46,000 (> 36,000): × 10%
        // − 2,520 = 2,080; already 90: withhold 1,990.
        let ctx2 = MonthContext {
            month: "2026-02".into(),
            income_before_fen: 10_000 * YUAN,
            withheld_before_fen: 90 * YUAN,
            months_with_income: 2,
            ..ctx
        };
        let m2 = monthly(TaxStatus::Individual, &ctx2, 60_000 * YUAN);
        assert_eq!(m2.tax_due_fen, 2_080 * YUAN);
        assert_eq!(m2.tax_fen, 1_990 * YUAN);
        assert_eq!(m2.rate_percent, 10);
    }

    #[test]
    fn months_are_counted_in_china_standard_time() {
        let at: DateTime<Utc> = "2026-11-30T16:00:00Z".parse().unwrap(); // 00:00 Dec 1 CST
        let (label, from, to) = cst_month(at);
        assert_eq!(label, "2026-12");
        assert_eq!(from, at);
        assert_eq!(to.to_rfc3339(), "2026-12-31T16:00:00+00:00");
        assert_eq!(month_bounds("2026-12"), Some((from, to)));
        for bad in ["2026-13", "2026-1", "26-01", "2026/01", ""] {
            assert!(month_bounds(bad).is_none(), "{bad}");
        }
    }
}
