//! Rights-protection refunds of Union orders (`taobao.tbk.relation.refund`): a refund after the
//! order settled (`refund_tag` 1 on the order) is only in this API. The request carries
//! `search_option` (JSON: `page_size`, `page_no`, `search_type` 3 = by refund completion time,
//! `refund_type` 1, `start_time` GMT+8, `biz_type` 1); each result names the order
//! (`tb_trade_parent_id`, `tb_trade_id`), `refund_fee` (yuan string), `refund_status` (2 success
//! before settlement, 5 success after settlement; 1/4 created, 3/6 failed) and
//! `tk_refund_suit_time` (when it completed). A success becomes an `order-refunded` without a
//! refund id (the API has none): the host takes it as the same refund as the TMC
//! `RefundSuccess` of that order and amount.

use super::api::{Credentials, PATH};
use super::sign::sign;
use crate::json::{Id, Int};
use crate::money::yuan_to_fen;
use crate::time::{format_gmt8, gmt8_to_rfc3339};
use crate::urlenc::encode_pairs;
use crate::{ApiRequest, Error, Event, EventBody, OrderRefunded};
use serde::Deserialize;

pub const METHOD: &str = "taobao.tbk.relation.refund";
pub const PAGE_SIZE: u32 = 100;

/// The request for refunds completed since `from_secs`, signed at `now_secs`.
pub fn request(c: &Credentials<'_>, from_secs: i64, now_secs: i64) -> ApiRequest {
    let timestamp = format_gmt8(now_secs);
    let option = crate::json::canonical(&serde_json::json!({
        "biz_type": 1,
        "page_no": 1,
        "page_size": PAGE_SIZE,
        "refund_type": 1,
        "search_type": 3,
        "start_time": format_gmt8(from_secs),
    }));
    let mut params: Vec<(&str, &str)> = vec![
        ("method", METHOD),
        ("app_key", c.app_key),
        ("timestamp", &timestamp),
        ("v", "2.0"),
        ("format", "json"),
        ("sign_method", c.sign_method.as_str()),
        ("search_option", &option),
    ];
    if let Some(s) = c.session {
        params.push(("session", s));
    }
    let sign = sign(&params, b"", c.app_secret, c.sign_method);
    params.push(("sign", &sign));
    ApiRequest {
        method: "POST",
        url: format!("{}{PATH}", c.api_base.trim_end_matches('/')),
        headers: vec![(
            "content-type".into(),
            "application/x-www-form-urlencoded;charset=utf-8".into(),
        )],
        body: encode_pairs(params).into_bytes(),
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Results {
    Wrapped { result_data: Vec<Refund> },
    Plain(Vec<Refund>),
}

#[derive(Deserialize)]
struct Data {
    #[serde(default)]
    results: Option<Results>,
}

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    result: Option<Wrapper>,
}

#[derive(Deserialize)]
struct Wrapper {
    #[serde(default)]
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Refund {
    tb_trade_parent_id: Id,
    tb_trade_id: Id,
    refund_fee: String,
    refund_status: Int,
    #[serde(default)]
    tk_refund_suit_time: Option<String>,
    #[serde(default)]
    modified_time: Option<String>,
}

/// Parses an answer of [`request`]: the successful refunds as events keyed
/// `<tb_trade_id>:relation-refund`.
pub fn parse(status: u16, body: &[u8]) -> Result<Vec<Event>, Error> {
    if !(200..300).contains(&status) {
        return Err(Error::Upstream(format!("{METHOD} answered HTTP {status}")));
    }
    let mut root: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body)
        .map_err(|e| Error::malformed(format!("{METHOD} response: {e}")))?;
    if let Some(e) = root.remove("error_response") {
        return Err(Error::Upstream(format!("{METHOD} failed: {e}")));
    }
    let inner = root
        .remove("tbk_relation_refund_response")
        .ok_or_else(|| Error::malformed(format!("{METHOD} response has no body")))?;
    let b: Body = serde_json::from_value(inner)
        .map_err(|e| Error::malformed(format!("{METHOD} response: {e}")))?;
    let data = b.data.or(b.result.and_then(|r| r.data));
    let refunds = match data.and_then(|d| d.results) {
        None => Vec::new(),
        Some(Results::Wrapped { result_data }) => result_data,
        Some(Results::Plain(r)) => r,
    };
    let mut events = Vec::new();
    for r in refunds {
        if ![2, 5].contains(&r.refund_status.0) {
            continue;
        }
        let at = r
            .tk_refund_suit_time
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .or(r.modified_time.as_deref())
            .ok_or_else(|| {
                Error::malformed(format!(
                    "refund of {} has no completion time",
                    r.tb_trade_id.0
                ))
            })?;
        events.push(Event::new(
            format!("{}:relation-refund", r.tb_trade_id.0),
            EventBody::OrderRefunded(OrderRefunded {
                platform_order_id: r.tb_trade_parent_id.0,
                sub_order_id: Some(r.tb_trade_id.0),
                refund_id: None,
                refunded_fen: yuan_to_fen(&r.refund_fee)?,
                refunded_at: gmt8_to_rfc3339(at)?,
            }),
            format!("relation_refund:{}", r.refund_status.0),
        ));
    }
    Ok(events)
}

/// Whether an order page (an answer of `api::order_request`) has an order with `refund_tag` 1,
/// whose refund only [`request`] tells.
pub fn page_has_refund_tag(body: &[u8]) -> bool {
    fn walk(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Object(m) => {
                m.get("refund_tag")
                    .is_some_and(|t| t.as_i64() == Some(1) || t.as_str() == Some("1"))
                    || m.values().any(walk)
            }
            serde_json::Value::Array(a) => a.iter().any(walk),
            _ => false,
        }
    }
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| walk(&v))
}
