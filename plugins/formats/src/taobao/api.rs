//! The signed TOP API: Taobao Union order details (`taobao.tbk.sc.order.details.get` with a
//! session, `taobao.tbk.order.details.get` without).

use super::sign::{SignMethod, sign};
use crate::json::{Id, Int};
use crate::money::{percent_to_bp, yuan_to_fen};
use crate::time::{format_gmt8, gmt8_to_rfc3339};
use crate::urlenc::encode_pairs;
use crate::{
    ApiPage, ApiRequest, Error, Event, EventBody, OrderPaid, OrderRefunded, OrderSettled,
    PollCursor,
};
use serde::Deserialize;

/// With a session (an MCN / service provider's authorisation).
pub const METHOD_SC: &str = "taobao.tbk.sc.order.details.get";
/// Without a session (the app's own publisher orders).
pub const METHOD_SELF: &str = "taobao.tbk.order.details.get";
pub const PATH: &str = "/router/rest";
pub const PAGE_SIZE: u32 = 100;

/// What the pull needs from the plugin's config.
pub struct Credentials<'a> {
    pub api_base: &'a str,
    pub app_key: &'a str,
    pub app_secret: &'a str,
    /// `session` (the authorisation of `taobao.tbk.sc.*`), if set.
    pub session: Option<&'a str>,
    pub sign_method: SignMethod,
}

impl Credentials<'_> {
    pub fn method(&self) -> &'static str {
        if self.session.is_some() {
            METHOD_SC
        } else {
            METHOD_SELF
        }
    }
}

/// The request for one page of the cursor's window, signed at `now_secs`.
pub fn order_request(c: &Credentials<'_>, cursor: &PollCursor, now_secs: i64) -> ApiRequest {
    let timestamp = format_gmt8(now_secs);
    let start = format_gmt8(cursor.from_ms.div_euclid(1000));
    let end = format_gmt8(cursor.to_ms.div_euclid(1000));
    let page_no = cursor.page_no.to_string();
    let page_size = PAGE_SIZE.to_string();
    let mut params: Vec<(&str, &str)> = vec![
        ("method", c.method()),
        ("app_key", c.app_key),
        ("timestamp", &timestamp),
        ("v", "2.0"),
        ("format", "json"),
        ("sign_method", c.sign_method.as_str()),
        ("query_type", "4"),
        ("start_time", &start),
        ("end_time", &end),
        ("page_no", &page_no),
        ("page_size", &page_size),
        ("jump_type", "1"),
    ];
    if let Some(s) = c.session {
        params.push(("session", s));
    }
    if let Some(p) = cursor.page.as_deref() {
        params.push(("position_index", p));
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
struct ErrorResponse {
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    msg: String,
    #[serde(default)]
    sub_code: String,
    #[serde(default)]
    sub_msg: String,
}

#[derive(Deserialize)]
struct Response {
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    #[serde(default)]
    has_next: bool,
    #[serde(default)]
    position_index: Option<String>,
    #[serde(default)]
    results: Option<Results>,
}

#[derive(Deserialize)]
struct Results {
    #[serde(default)]
    publisher_order_dto: Vec<Order>,
}

#[derive(Deserialize)]
struct Order {
    trade_id: Id,
    trade_parent_id: Id,
    item_id: Id,
    #[serde(default)]
    item_num: Option<Int>,
    alipay_total_price: String,
    tk_status: Int,
    #[serde(default)]
    total_commission_rate: Option<String>,
    #[serde(default)]
    total_commission_fee: Option<String>,
    #[serde(default)]
    tk_paid_time: Option<String>,
    #[serde(default)]
    tb_paid_time: Option<String>,
    #[serde(default)]
    tk_earning_time: Option<String>,
    #[serde(default)]
    modified_time: Option<String>,
    #[serde(default)]
    relation_id: Option<Id>,
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.trim().is_empty())
}

fn events_of(o: Order) -> Result<Vec<Event>, Error> {
    let id = o.trade_id.0.clone();
    let status = o.tk_status.0;
    if ![3, 12, 13, 14].contains(&status) {
        return Ok(Vec::new());
    }
    let paid_fen = yuan_to_fen(&o.alipay_total_price)?;
    let paid_at = non_empty(&o.tk_paid_time)
        .or(non_empty(&o.tb_paid_time))
        .ok_or_else(|| Error::malformed(format!("order {id} has no tk_paid_time")))?;
    let changed_at = non_empty(&o.modified_time).unwrap_or(paid_at);
    let units = match o.item_num {
        Some(Int(n)) => u32::try_from(n)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| Error::malformed(format!("item_num {n} is not a unit count")))?,
        None => 1,
    };
    let code = status.to_string();
    let mut out = vec![Event::new(
        format!("{id}:paid"),
        EventBody::OrderPaid(OrderPaid {
            platform_order_id: o.trade_parent_id.0.clone(),
            sub_order_id: Some(id.clone()),
            item_id: o.item_id.0,
            account_id: o.relation_id.map(|r| r.0).filter(|r| r != "0"),
            room_id: None,
            units,
            paid_fen,
            commission_bp: non_empty(&o.total_commission_rate)
                .map(percent_to_bp)
                .transpose()?,
            paid_at: gmt8_to_rfc3339(paid_at)?,
        }),
        code.clone(),
    )];
    match status {
        3 => out.push(Event::new(
            format!("{id}:settled"),
            EventBody::OrderSettled(OrderSettled {
                platform_order_id: o.trade_parent_id.0,
                sub_order_id: Some(id.clone()),
                settled_fen: paid_fen,
                commission_fen: non_empty(&o.total_commission_fee)
                    .map(yuan_to_fen)
                    .transpose()?,
                platform_fee_fen: None,
                settled_at: gmt8_to_rfc3339(non_empty(&o.tk_earning_time).unwrap_or(changed_at))?,
            }),
            code,
        )),
        13 => out.push(Event::new(
            format!("{id}:void"),
            EventBody::OrderRefunded(OrderRefunded {
                platform_order_id: o.trade_parent_id.0,
                sub_order_id: Some(id.clone()),
                refund_id: Some("void".into()),
                refunded_fen: paid_fen,
                refunded_at: gmt8_to_rfc3339(changed_at)?,
            }),
            code,
        )),
        _ => {}
    }
    Ok(out)
}

/// Parses an answer of [`order_request`] made with `method`: events and the next
/// `position_index` (none when `has_next` is false).
pub fn parse_order_page(status: u16, body: &[u8], method: &str) -> Result<ApiPage, Error> {
    if !(200..300).contains(&status) {
        return Err(Error::Upstream(format!(
            "{method} answered HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        )));
    }
    let mut root: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body)
        .map_err(|e| Error::malformed(format!("{method} response: {e}")))?;
    if let Some(err) = root.remove("error_response") {
        let e: ErrorResponse = serde_json::from_value(err)
            .map_err(|e| Error::malformed(format!("{method} error_response: {e}")))?;
        return Err(Error::Upstream(format!(
            "{method} failed: code {} {} {} {}",
            e.code.map(|c| c.to_string()).unwrap_or_default(),
            e.msg,
            e.sub_code,
            e.sub_msg
        )));
    }
    let name = format!(
        "{}_response",
        method.trim_start_matches("taobao.").replace('.', "_")
    );
    let resp = root
        .remove(&name)
        .ok_or_else(|| Error::malformed(format!("{method} response has no `{name}`")))?;
    let resp: Response = serde_json::from_value(resp)
        .map_err(|e| Error::malformed(format!("{method} response: {e}")))?;
    let orders = resp
        .data
        .results
        .map(|r| r.publisher_order_dto)
        .unwrap_or_default();
    let mut events = Vec::with_capacity(orders.len() * 2);
    for o in orders {
        events.extend(events_of(o)?);
    }
    let next_page = if resp.data.has_next {
        Some(
            resp.data
                .position_index
                .filter(|p| !p.is_empty())
                .ok_or_else(|| {
                    Error::malformed(format!("{method}: has_next without position_index"))
                })?,
        )
    } else {
        None
    };
    Ok(ApiPage { events, next_page })
}
