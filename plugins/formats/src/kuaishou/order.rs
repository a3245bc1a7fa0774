//! The distribution order view (`cpsOrderProductView` and all), shared by the order pull and
//! the pushed distribution messages.

use crate::json::{Id, Int};
use crate::money::{non_negative, per_mille_to_bp};
use crate::time::rfc3339_from_unix_ms;
use crate::{Error, EventBody, OrderPaid, OrderRefunded, OrderSettled};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderView {
    pub oid: Id,
    #[serde(default)]
    pub distributor_id: Option<Id>,
    pub order_trade_amount: Int,
    pub pay_time: Int,
    pub cps_order_status: Int,
    #[serde(default)]
    pub settlement_success_time: Option<Int>,
    #[serde(default)]
    pub settlement_amount: Option<Int>,
    #[serde(default)]
    pub update_time: Option<Int>,
    #[serde(default)]
    pub cps_order_product_view: Vec<ProductView>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProductView {
    pub item_id: Id,
    #[serde(default)]
    pub num: Option<u32>,
    #[serde(default)]
    pub commission_rate: Option<Int>,
    #[serde(default)]
    pub estimated_income: Option<Int>,
}

/// What a status means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Paid,
    Settled,
    Void,
    Other,
}

impl OrderView {
    pub fn status(&self) -> Status {
        match self.cps_order_status.0 {
            30 | 40 | 50 => Status::Paid,
            60 => Status::Settled,
            80 => Status::Void,
            _ => Status::Other,
        }
    }

    fn changed_at(&self) -> Result<String, Error> {
        match self.update_time {
            Some(Int(t)) if t > 0 => rfc3339_from_unix_ms(t),
            _ => rfc3339_from_unix_ms(self.pay_time.0),
        }
    }

    pub fn paid(&self) -> Result<EventBody, Error> {
        let first = self.cps_order_product_view.first();
        Ok(EventBody::OrderPaid(OrderPaid {
            platform_order_id: self.oid.0.clone(),
            sub_order_id: None,
            item_id: first.map(|p| p.item_id.0.clone()).unwrap_or_default(),
            account_id: self
                .distributor_id
                .as_ref()
                .map(|d| d.0.clone())
                .filter(|d| d != "0"),
            room_id: None,
            units: self
                .cps_order_product_view
                .iter()
                .map(|p| p.num.unwrap_or(1))
                .fold(0u32, u32::saturating_add)
                .max(1),
            paid_fen: non_negative("orderTradeAmount", self.order_trade_amount.0)?,
            commission_bp: first
                .and_then(|p| p.commission_rate)
                .map(|r| per_mille_to_bp(r.0))
                .transpose()?,
            paid_at: rfc3339_from_unix_ms(self.pay_time.0)?,
        }))
    }

    pub fn settled(&self) -> Result<EventBody, Error> {
        let amount = match self.settlement_amount {
            Some(Int(a)) if a > 0 => a,
            _ => self.order_trade_amount.0,
        };
        let incomes: Vec<i64> = self
            .cps_order_product_view
            .iter()
            .filter_map(|p| p.estimated_income.map(|i| i.0))
            .collect();
        let commission = if incomes.is_empty() {
            None
        } else {
            let mut sum = 0i64;
            for i in incomes {
                sum = sum
                    .checked_add(non_negative("estimatedIncome", i)?)
                    .ok_or_else(|| Error::malformed("estimatedIncome overflows"))?;
            }
            Some(sum)
        };
        Ok(EventBody::OrderSettled(OrderSettled {
            platform_order_id: self.oid.0.clone(),
            sub_order_id: None,
            settled_fen: non_negative("settlementAmount", amount)?,
            commission_fen: commission,
            platform_fee_fen: None,
            settled_at: match self.settlement_success_time {
                Some(Int(t)) if t > 0 => rfc3339_from_unix_ms(t)?,
                _ => self.changed_at()?,
            },
        }))
    }

    pub fn voided(&self) -> Result<EventBody, Error> {
        Ok(EventBody::OrderRefunded(OrderRefunded {
            platform_order_id: self.oid.0.clone(),
            sub_order_id: None,
            refund_id: Some("void".into()),
            refunded_fen: non_negative("orderTradeAmount", self.order_trade_amount.0)?,
            refunded_at: self.changed_at()?,
        }))
    }
}
