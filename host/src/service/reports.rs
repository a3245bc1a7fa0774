//! Statements an agency hands on. The KOL income report is the half-year income of KOLs from
//! approved settlements, as the agency reports it to the tax authority: who was paid, the income
//! type, gross, tax withheld and net.
//!
//! A settlement belongs to the half year in which it was approved (the payment became due),
//! counted in China Standard Time (UTC+8): `2026-H2` is [2026-07-01T00:00+08:00,
//! 2027-01-01T00:00+08:00). Gross is the KOL share, withheld the tax withheld from it, net the
//! amount payable to the KOL; every figure is a sum of approved, immutable settlements.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::settlement::{APPROVED, CsvFile, csv_row};
use crate::domain::actor::{Actor, Scope};
use crate::domain::{Role, TaxStatus};
use crate::service::{Error, Result};
use crate::store::entities::{kol, settlement};

/// Whose income, for which half year, in which form.
#[derive(Debug)]
pub struct IncomeQuery {
    /// One KOL; all KOLs when absent (staff only).
    pub kol_id: Option<Uuid>,
    /// `YYYY-H1` or `YYYY-H2`.
    pub half: String,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// The report as asked: the JSON view, or the CSV file.
#[derive(Debug)]
pub enum Income {
    Report(IncomeReport),
    Csv(CsvFile),
}

/// One approved settlement's payment to the KOL.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncomePayment {
    pub settlement_id: Uuid,
    pub contract_id: Uuid,
    pub brand_id: Uuid,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub approved_at: Option<DateTime<Utc>>,
    pub gross_fen: i64,
    pub withheld_fen: i64,
    pub net_fen: i64,
}

/// One KOL's half year.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KolIncome {
    pub kol_id: Uuid,
    /// The KOL's name as the agency holds it.
    pub name: String,
    pub tax_status: TaxStatus,
    /// `labour_remuneration` (劳务报酬, withheld per payment) for individuals;
    /// `company_service_fee` (invoiced by the KOL's company, not withheld) for companies.
    pub income_type: String,
    pub gross_fen: i64,
    pub withheld_fen: i64,
    pub net_fen: i64,
    pub payments: Vec<IncomePayment>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncomeReport {
    pub half: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub items: Vec<KolIncome>,
}

/// The half year's `[from, to)` in UTC, from `YYYY-H1|H2` in China Standard Time.
pub fn half_year(half: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let (year, h) = half.split_once("-H")?;
    if year.len() != 4 {
        return None;
    }
    let year: i32 = year.parse().ok()?;
    let (from, to) = match h {
        "1" => ((year, 1), (year, 7)),
        "2" => ((year, 7), (year + 1, 1)),
        _ => return None,
    };
    let cst = FixedOffset::east_opt(8 * 3600)?;
    let at = |(y, m): (i32, u32)| {
        let d = NaiveDate::from_ymd_opt(y, m, 1)?.and_hms_opt(0, 0, 0)?;
        Some(cst.from_local_datetime(&d).single()?.with_timezone(&Utc))
    };
    Some((at(from)?, at(to)?))
}

/// KOL income for a half year, from approved settlements (the report, or CSV with `format=csv`).
/// Admins and managers see every KOL; a KOL token sees only itself; brand, scripter and
/// integrator tokens may not.
pub async fn kol_income(db: &DatabaseConnection, actor: &Actor, q: IncomeQuery) -> Result<Income> {
    if actor.role == Role::Brand {
        return Err(Error::Forbidden("KOL income is not shown to brands".into()));
    }
    super::visibility::require_money_reader(actor)?;
    let Some((from, to)) = half_year(&q.half) else {
        return Err(Error::field(
            "half",
            "must be YYYY-H1 or YYYY-H2, e.g. 2026-H2",
        ));
    };
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(Error::field("format", "must be json or csv")),
    };
    let kol_id = match (actor.scope(), q.kol_id) {
        (Scope::Kol(own), Some(k)) if k != own => return Err(Error::NotFound("KOL")),
        (Scope::Kol(own), _) => Some(own),
        (_, k) => k,
    };
    let mut sel = settlement::Entity::find()
        .filter(settlement::Column::Status.eq(APPROVED))
        .filter(settlement::Column::ApprovedAt.gte(from))
        .filter(settlement::Column::ApprovedAt.lt(to))
        .order_by_asc(settlement::Column::ApprovedAt)
        .order_by_asc(settlement::Column::Id);
    if let Some(k) = kol_id {
        if kol::Entity::find_by_id(k).one(db).await?.is_none() {
            return Err(Error::NotFound("KOL"));
        }
        sel = sel.filter(settlement::Column::KolId.eq(k));
    }
    let rows = sel.all(db).await?;
    let mut by_kol: BTreeMap<Uuid, Vec<settlement::Model>> = BTreeMap::new();
    for r in rows {
        by_kol.entry(r.kol_id).or_default().push(r);
    }
    let kols: BTreeMap<Uuid, kol::Model> = if by_kol.is_empty() {
        BTreeMap::new()
    } else {
        kol::Entity::find()
            .filter(kol::Column::Id.is_in(by_kol.keys().copied().collect::<Vec<_>>()))
            .all(db)
            .await?
            .into_iter()
            .map(|k| (k.id, k))
            .collect()
    };
    let mut items = Vec::new();
    for (kol_id, rows) in by_kol {
        let k = kols.get(&kol_id);
        // The status the settlements were computed with; the KOL's current one if they differ.
        let status = rows
            .last()
            .and_then(|r| TaxStatus::parse(&r.tax_status))
            .unwrap_or(TaxStatus::Individual);
        let payments: Vec<IncomePayment> = rows
            .iter()
            .map(|r| IncomePayment {
                settlement_id: r.id,
                contract_id: r.contract_id,
                brand_id: r.brand_id,
                period_start: r.period_start,
                period_end: r.period_end,
                approved_at: r.approved_at,
                gross_fen: r.kol_share_fen,
                withheld_fen: r.tax_withheld_fen,
                net_fen: r.kol_payable_fen,
            })
            .collect();
        items.push(KolIncome {
            kol_id,
            name: k.map(|k| k.name.clone()).unwrap_or_default(),
            tax_status: status,
            income_type: income_type(status).into(),
            gross_fen: payments.iter().map(|p| p.gross_fen).sum(),
            withheld_fen: payments.iter().map(|p| p.withheld_fen).sum(),
            net_fen: payments.iter().map(|p| p.net_fen).sum(),
            payments,
        });
    }
    let report = IncomeReport {
        half: q.half,
        from,
        to,
        items,
    };
    if !csv {
        return Ok(Income::Report(report));
    }
    let mut out = String::from(
        "half,row,kol_id,name,tax_status,income_type,settlement_id,contract_id,period_start,period_end,approved_at,gross_fen,withheld_fen,net_fen\r\n",
    );
    for k in &report.items {
        let base = |row: &str| {
            vec![
                report.half.clone(),
                row.to_owned(),
                k.kol_id.to_string(),
                k.name.clone(),
                k.tax_status.as_str().to_owned(),
                k.income_type.clone(),
            ]
        };
        for pay in &k.payments {
            let mut r = base("payment");
            r.extend([
                pay.settlement_id.to_string(),
                pay.contract_id.to_string(),
                pay.period_start.to_rfc3339(),
                pay.period_end.to_rfc3339(),
                pay.approved_at.map(|a| a.to_rfc3339()).unwrap_or_default(),
                pay.gross_fen.to_string(),
                pay.withheld_fen.to_string(),
                pay.net_fen.to_string(),
            ]);
            out.push_str(&csv_row(&r));
        }
        let mut r = base("total");
        r.extend([
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            k.gross_fen.to_string(),
            k.withheld_fen.to_string(),
            k.net_fen.to_string(),
        ]);
        out.push_str(&csv_row(&r));
    }
    Ok(Income::Csv(CsvFile {
        filename: format!("kol-income-{}.csv", report.half),
        body: out,
    }))
}

fn income_type(status: TaxStatus) -> &'static str {
    match status {
        TaxStatus::Individual => "labour_remuneration",
        TaxStatus::Company => "company_service_fee",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_years_are_in_china_standard_time() {
        let (from, to) = half_year("2026-H2").unwrap();
        assert_eq!(from.to_rfc3339(), "2026-06-30T16:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-12-31T16:00:00+00:00");
        let (from, _) = half_year("2027-H1").unwrap();
        assert_eq!(from.to_rfc3339(), "2026-12-31T16:00:00+00:00");
        for bad in ["2026-H3", "2026H1", "26-H1", "2026-h1", ""] {
            assert!(half_year(bad).is_none(), "{bad}");
        }
    }
}
