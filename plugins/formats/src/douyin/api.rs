//! The signed Buyin open API: `buyin.instituteOrderMCN` (MCN alliance orders). See the module
//! docs for the signature and the status table.

use crate::json::{Id, canonical};
use crate::money::{non_negative, ten_thousandths_to_bp};
use crate::time::{format_gmt8, gmt8_to_rfc3339};
use crate::urlenc::encode_pairs;
use crate::{
    ApiPage, ApiRequest, Error, Event, EventBody, OrderPaid, OrderRefunded, OrderSettled,
    PollCursor,
};
use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

pub const METHOD: &str = "buyin.instituteOrderMCN";
pub const PATH: &str = "/buyin/instituteOrderMCN";
/// Orders per page (the API allows 1 to 200).
pub const PAGE_SIZE: usize = 50;

/// `sign_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignMethod {
    Md5,
    HmacSha256,
}

impl SignMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SignMethod::Md5 => "md5",
            SignMethod::HmacSha256 => "hmac-sha256",
        }
    }

    /// `md5` or `hmac-sha256` (the config value `sign_method`).
    pub fn parse(s: &str) -> Result<SignMethod, Error> {
        match s.trim() {
            "md5" => Ok(SignMethod::Md5),
            "hmac-sha256" => Ok(SignMethod::HmacSha256),
            other => Err(Error::Config(format!(
                "sign_method `{other}` is not md5 or hmac-sha256"
            ))),
        }
    }
}

/// The request signature, lower-case hex.
pub fn sign(
    app_key: &str,
    app_secret: &str,
    method: &str,
    param_json: &str,
    timestamp: &str,
    sign_method: SignMethod,
) -> String {
    let pattern = format!(
        "{app_secret}app_key{app_key}method{method}param_json{param_json}timestamp{timestamp}v2{app_secret}"
    );
    match sign_method {
        SignMethod::Md5 => hex::encode(Md5::digest(pattern.as_bytes())),
        SignMethod::HmacSha256 => {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(app_secret.as_bytes())
                .expect("HMAC takes any key length");
            mac.update(pattern.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
    }
}

/// What the pull needs from the plugin's config.
pub struct Credentials<'a> {
    pub api_base: &'a str,
    pub app_key: &'a str,
    pub app_secret: &'a str,
    /// The MCN's Buyin authorisation (`access_token`), if set.
    pub access_token: Option<&'a str>,
    pub sign_method: SignMethod,
}

/// The request for one page of the cursor's window, signed at `now_secs`.
pub fn order_request(c: &Credentials<'_>, cursor: &PollCursor, now_secs: i64) -> ApiRequest {
    let param_json = canonical(&json!({
        "cursor": cursor.page.as_deref().unwrap_or("0"),
        "end_time": format_gmt8(cursor.to_ms.div_euclid(1000)),
        "size": PAGE_SIZE,
        "start_time": format_gmt8(cursor.from_ms.div_euclid(1000)),
        "time_type": "update",
    }));
    let timestamp = now_secs.to_string();
    let sign = sign(
        c.app_key,
        c.app_secret,
        METHOD,
        &param_json,
        &timestamp,
        c.sign_method,
    );
    let mut query = vec![
        ("app_key", c.app_key),
        ("method", METHOD),
        ("v", "2"),
        ("timestamp", timestamp.as_str()),
        ("sign_method", c.sign_method.as_str()),
        ("sign", sign.as_str()),
    ];
    if let Some(t) = c.access_token {
        query.push(("access_token", t));
    }
    ApiRequest {
        method: "POST",
        url: format!(
            "{}{PATH}?{}",
            c.api_base.trim_end_matches('/'),
            encode_pairs(query)
        ),
        headers: vec![("content-type".into(), "application/json".into())],
        body: param_json.into_bytes(),
    }
}

#[derive(Deserialize)]
struct Envelope {
    code: i64,
    #[serde(default)]
    msg: String,
    #[serde(default)]
    sub_code: String,
    #[serde(default)]
    sub_msg: String,
    #[serde(default)]
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(default)]
    orders: Vec<Order>,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Deserialize)]
struct Order {
    order_id: Id,
    product_id: Id,
    total_pay_amount: i64,
    #[serde(default)]
    commission_rate: Option<i64>,
    flow_point: String,
    #[serde(default)]
    pay_success_time: String,
    #[serde(default)]
    settle_time: String,
    #[serde(default)]
    refund_time: String,
    #[serde(default)]
    update_time: String,
    #[serde(default)]
    settled_goods_amount: Option<i64>,
    #[serde(default)]
    real_commission: Option<i64>,
    #[serde(default)]
    estimated_tech_service_fee: Option<i64>,
    #[serde(default)]
    settled_tech_service_fee: Option<i64>,
    #[serde(default)]
    item_num: Option<u32>,
    #[serde(default)]
    author_buyin_id: Option<String>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    media_id: Option<Id>,
}

fn time_or(field: &str, primary: &str, fallback: &str) -> Result<String, Error> {
    let t = if primary.is_empty() {
        fallback
    } else {
        primary
    };
    if t.is_empty() {
        return Err(Error::malformed(format!("{field} is missing")));
    }
    gmt8_to_rfc3339(t)
}

fn events_of(o: Order) -> Result<Vec<Event>, Error> {
    let id = o.order_id.0;
    let status = o.flow_point.clone();
    let paid_fen = non_negative("total_pay_amount", o.total_pay_amount)?;
    let paid = Event::new(
        format!("{id}:paid"),
        EventBody::OrderPaid(OrderPaid {
            platform_order_id: id.clone(),
            sub_order_id: None,
            item_id: o.product_id.0,
            account_id: o.author_buyin_id.filter(|a| !a.is_empty()),
            room_id: match (o.media_type.as_deref(), o.media_id) {
                (Some("live"), Some(m)) if m.0 != "0" => Some(m.0),
                _ => None,
            },
            units: o.item_num.unwrap_or(1).max(1),
            paid_fen,
            commission_bp: o.commission_rate.map(ten_thousandths_to_bp).transpose()?,
            paid_at: time_or("pay_success_time", &o.pay_success_time, "")?,
        }),
        status.clone(),
    );
    let mut out = Vec::with_capacity(2);
    match o.flow_point.as_str() {
        "PAY_SUCC" | "CONFIRM" => out.push(paid),
        "REFUND" => {
            out.push(paid);
            // The MCN order names no after-sale id: the host matches this refund to the push's
            // (tag 206) by order, amount and time.
            out.push(Event::new(
                format!("{id}:refund"),
                EventBody::OrderRefunded(OrderRefunded {
                    platform_order_id: id.clone(),
                    sub_order_id: None,
                    refund_id: None,
                    refunded_fen: paid_fen,
                    refunded_at: time_or("refund_time", &o.refund_time, &o.update_time)?,
                }),
                status,
            ));
        }
        "SETTLE" => {
            out.push(paid);
            out.push(Event::new(
                format!("{id}:settle"),
                EventBody::OrderSettled(OrderSettled {
                    platform_order_id: id.clone(),
                    sub_order_id: None,
                    settled_fen: non_negative(
                        "settled_goods_amount",
                        o.settled_goods_amount.unwrap_or(paid_fen),
                    )?,
                    commission_fen: o
                        .real_commission
                        .map(|c| non_negative("real_commission", c))
                        .transpose()?,
                    platform_fee_fen: o
                        .settled_tech_service_fee
                        .filter(|f| *f > 0)
                        .or(o.estimated_tech_service_fee)
                        .map(|c| non_negative("settled_tech_service_fee", c))
                        .transpose()?,
                    settled_at: time_or("settle_time", &o.settle_time, &o.update_time)?,
                }),
                status,
            ));
        }
        _ => {}
    }
    Ok(out)
}

/// Parses an answer of [`order_request`] for `cursor`: events and the next page's `cursor`
/// (none when the page was empty, or no new cursor came back).
pub fn parse_order_page(status: u16, body: &[u8], cursor: &PollCursor) -> Result<ApiPage, Error> {
    if !(200..300).contains(&status) {
        return Err(Error::Upstream(format!(
            "{METHOD} answered HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        )));
    }
    let env: Envelope = serde_json::from_slice(body)
        .map_err(|e| Error::malformed(format!("{METHOD} response: {e}")))?;
    if env.code != 10000 {
        return Err(Error::Upstream(format!(
            "{METHOD} failed: code {} {} {} {}",
            env.code, env.msg, env.sub_code, env.sub_msg
        )));
    }
    let data = env
        .data
        .ok_or_else(|| Error::malformed(format!("{METHOD} response has no data")))?;
    let any = !data.orders.is_empty();
    let mut events = Vec::with_capacity(data.orders.len() * 2);
    for o in data.orders {
        events.extend(events_of(o)?);
    }
    let next_page = data
        .cursor
        .filter(|c| any && !c.is_empty() && c != "0" && Some(c) != cursor.page.as_ref());
    Ok(ApiPage { events, next_page })
}
