//! A settlement line's "how it was computed" in Chinese, from its `kind` and `params`, for the
//! statements a brand or KOL downloads in Chinese (the dashboard writes its own from the same
//! params). A line without params (computed before lines carried them) keeps its English text.

use serde_json::Value;

use crate::domain::Params;
use crate::domain::settlement::Line;

/// The Chinese explanation of `line`, or `None` when its params do not say enough.
pub fn how_zh(line: &Line) -> Option<String> {
    let p = Read(&line.params);
    Some(match line.kind.as_str() {
        "gmv" => format!(
            "本期结算的 {} 笔归属本合同订单的实付金额合计：{}",
            p.int("orders")?,
            p.yuan("gmv_fen")?
        ),
        "refunds" => format!(
            "这些订单在计算时已知的退款（{} 笔）合计：{}",
            p.int("refunded_orders")?,
            p.yuan("refunds_fen")?
        ),
        "adjustment_late_order" => format!(
            "{} 笔订单的结算时间落在已审批结算单（{}）的期间内，但在其审批后才到达，按净额（实付 − 退款）计入本期：{}。已审批的结算单不变。",
            p.int("orders")?,
            p.text("settlements")?,
            p.yuan("amount_fen")?
        ),
        "adjustment_late_refund" => format!(
            "已审批结算单（{}）计入的 {} 笔订单在审批后发生退款，计入本期：−{}。已审批的结算单不变。",
            p.text("settlements")?,
            p.int("orders")?,
            p.yuan("amount_fen")?
        ),
        "net_gmv" => format!(
            "成交额 {} − 退款 {} + 调整 {} = {}",
            p.yuan("gmv_fen")?,
            p.yuan("refunds_fen")?,
            p.yuan("adjustments_fen")?,
            p.yuan("net_gmv_fen")?
        ),
        "commission" => format!(
            "{} 笔订单的净成交额 {} × 佣金率 {} = {} 分，按四舍五入（远离零）取整为 {}",
            p.int("orders")?,
            p.yuan("net_gmv_fen")?,
            p.percent("commission_bp")?,
            p.text("exact_fen")?,
            p.yuan("commission_fen")?
        ),
        "slot_fees" => format!(
            "本合同在本期开播且已开播的 {} 场直播中的 {} 个坑位 × 坑位费 {} = {}",
            p.int("sessions")?,
            p.int("slots")?,
            p.yuan("slot_fee_fen")?,
            p.yuan("slot_fees_fen")?
        ),
        "guarantee_shortfall" => format!(
            "合同已到期，核算保量：max(0, 保量 {} − 截至本期末全部 {} 笔已结算订单的净成交额 {}) = {}（保量的 {}%）；仅列示，本身不构成应付",
            p.yuan("gmv_guarantee_fen")?,
            p.int("orders")?,
            p.yuan("net_gmv_fen")?,
            p.yuan("shortfall_fen")?,
            p.text("percent")?
        ),
        "guarantee_remedy" => match p.text("remedy")?.as_str() {
            "slot_fee_refund_pro_rata" => format!(
                "按比例退坑位费：截至本期末的坑位费（{} 个坑位，{}）× 差额 {} / 保量 {}，退还品牌 {}",
                p.int("slots")?,
                p.yuan("slot_fees_fen")?,
                p.yuan("shortfall_fen")?,
                p.yuan("gmv_guarantee_fen")?,
                p.yuan("refund_fen")?
            ),
            "make_good_session" if p.flag("owed")? => {
                "补播一场：主播须为品牌补播一场直播，本结算单不涉及金额".into()
            }
            "make_good_session" => "补播一场：保量已达成，无需补偿".into(),
            "none" => "合同未约定未达保量的补偿".into(),
            "assessed_earlier" => format!(
                "保量已由已审批结算单 {} 核算；保量只核算一次",
                p.text("settlement_id")?
            ),
            _ => return None,
        },
        "platform_fees" => format!(
            "平台自身收取的服务费（{} 笔订单中 {} 笔有报告）：{}；仅供参考，不予扣除，佣金按净成交额计算",
            p.int("orders")?,
            p.int("known_orders")?,
            p.yuan("platform_fees_fen")?
        ),
        "kol_share" => format!(
            "（佣金 {} 分 + 坑位费 {} − 保量退款 {} 分）= {} 分，× 主播分成比例 {} = {} 分，四舍五入（远离零）取整为 {}",
            p.text("commission_exact_fen")?,
            p.yuan("slot_fees_fen")?,
            p.text("guarantee_refund_exact_fen")?
                .trim_start_matches('-'),
            p.text("base_exact_fen")?,
            p.percent("revenue_share_bp")?,
            p.text("share_exact_fen")?,
            p.yuan("kol_share_fen")?
        ),
        "payable_brand_to_agency" => format!(
            "佣金 {} + 坑位费 {} + 保量补偿 {} = {}",
            p.yuan("commission_fen")?,
            p.yuan("slot_fees_fen")?,
            p.yuan("guarantee_refund_fen")?,
            p.yuan("payable_fen")?
        ),
        "tax_withheld" if p.text("tax_status")? == "company" => {
            "主播通过公司收款（company）：不代扣个人所得税".into()
        }
        "tax_withheld" => format!(
            "{}（北京时间）劳务报酬按月合并为一次：此前收入 {} + 本次 {} = {}；应纳税所得额 {} 分 × {}% − 速算扣除数 {} = 应纳税额 {}；已预扣 {}；本次预扣 {}",
            p.text("month")?,
            p.yuan("income_before_fen")?,
            p.yuan("income_fen")?,
            p.yuan("total_income_fen")?,
            p.text("taxable_exact_fen")?,
            p.int("rate_percent")?,
            p.yuan("quick_deduction_fen")?,
            p.yuan("tax_due_fen")?,
            p.yuan("withheld_before_fen")?,
            p.yuan("tax_fen")?
        ),
        "payable_agency_to_kol" => format!(
            "主播分成 {} − 代扣税款 {} = {}",
            p.yuan("kol_share_fen")?,
            p.yuan("tax_fen")?,
            p.yuan("payable_fen")?
        ),
        "payable_agency_to_tax_authority" => format!("代扣的税款：{}", p.yuan("tax_fen")?),
        _ => return None,
    })
}

/// Typed reads of a line's params.
struct Read<'a>(&'a Params);

impl Read<'_> {
    fn int(&self, name: &str) -> Option<i64> {
        self.0.get(name)?.as_i64()
    }

    fn flag(&self, name: &str) -> Option<bool> {
        self.0.get(name)?.as_bool()
    }

    fn text(&self, name: &str) -> Option<String> {
        match self.0.get(name)? {
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }

    /// An amount in fen as `¥1,234.56`, exactly.
    fn yuan(&self, name: &str) -> Option<String> {
        Some(crate::domain::money::cny(self.int(name)?))
    }

    fn percent(&self, name: &str) -> Option<String> {
        Some(crate::domain::money::percent(self.int(name)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::params;

    fn line(kind: &str, p: Params) -> Line {
        Line {
            kind: kind.into(),
            label: String::new(),
            amount_fen: 0,
            how: "in English".into(),
            params: p,
            version: None,
        }
    }

    #[test]
    fn writes_lines_in_chinese_from_their_params() {
        let l = line(
            "payable_agency_to_kol",
            params([
                ("kol_share_fen", 123_456_789.into()),
                ("tax_fen", 44_000.into()),
                ("payable_fen", 123_412_789.into()),
            ]),
        );
        assert_eq!(
            how_zh(&l).unwrap(),
            "主播分成 ¥1,234,567.89 − 代扣税款 ¥440.00 = ¥1,234,127.89"
        );
        let l = line(
            "commission",
            params([
                ("orders", 3.into()),
                ("net_gmv_fen", 1_001.into()),
                ("commission_bp", 2050.into()),
                ("exact_fen", "205.205".into()),
                ("commission_fen", 205.into()),
            ]),
        );
        assert_eq!(
            how_zh(&l).unwrap(),
            "3 笔订单的净成交额 ¥10.01 × 佣金率 20.5% = 205.205 分，按四舍五入（远离零）取整为 ¥2.05"
        );
    }

    #[test]
    fn a_line_without_params_keeps_its_english() {
        assert_eq!(how_zh(&line("gmv", Params::new())), None);
        assert_eq!(how_zh(&line("unknown", params([("x", 1.into())]))), None);
    }
}
