//! Douyin push deliveries: verification and parsing (see the module docs for the table).

use crate::json::Id;
use crate::money::non_negative;
use crate::time::{gmt8_to_rfc3339, rfc3339_from_unix};
use crate::{
    Error, Event, EventBody, OrderNotice, OrderRefunded, OrderStatus, ParsedDelivery, Reply, ct_eq,
    header,
};
use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use serde::Deserialize;
use sha2::Sha256;

/// What Douyin expects back.
pub const REPLY: Reply = Reply::json(r#"{"code":0,"msg":"success"}"#);

/// The expected `event-sign` of a body, lower-case hex.
pub fn event_sign(app_key: &str, app_secret: &str, body: &[u8], hmac_sha256: bool) -> String {
    if hmac_sha256 {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(app_secret.as_bytes())
            .expect("HMAC takes any key length");
        mac.update(app_key.as_bytes());
        mac.update(body);
        mac.update(app_secret.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    } else {
        let mut h = Md5::new();
        h.update(app_key.as_bytes());
        h.update(body);
        h.update(app_secret.as_bytes());
        hex::encode(h.finalize())
    }
}

/// Checks `app-id` (when sent) and `event-sign`.
pub fn verify(
    app_key: &str,
    app_secret: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<(), Error> {
    if let Some(app_id) = header(headers, "app-id")
        && app_id.trim() != app_key
    {
        return Err(Error::unauthorized(format!(
            "the delivery is for app-id `{}`, not this plugin's app_key",
            app_id.trim()
        )));
    }
    let sign = header(headers, "event-sign")
        .ok_or_else(|| Error::unauthorized("the event-sign header is missing"))?;
    let hmac = match header(headers, "sign-method").map(str::trim) {
        None | Some("") => false,
        Some(m) if m.eq_ignore_ascii_case("md5") => false,
        Some(m) if m.eq_ignore_ascii_case("hmac-sha256") => true,
        Some(m) => {
            return Err(Error::unauthorized(format!("unknown sign-method `{m}`")));
        }
    };
    let want = event_sign(app_key, app_secret, body, hmac);
    if ct_eq(want.as_bytes(), sign.trim().to_ascii_lowercase().as_bytes()) {
        Ok(())
    } else {
        Err(Error::unauthorized(if hmac {
            "event-sign does not match hmac_sha256(app_secret, app_key + body + app_secret)"
        } else {
            "event-sign does not match md5(app_key + body + app_secret)"
        }))
    }
}

#[derive(Deserialize)]
struct Message {
    tag: Tag,
    msg_id: Id,
    data: String,
}

/// Tags are sent as strings (`"101"`), sometimes as numbers.
#[derive(Deserialize)]
#[serde(untagged)]
enum Tag {
    Num(u32),
    Str(String),
}

/// Tag 101 (order paid), exactly the fields of Douyin's public push.
#[derive(Deserialize)]
struct PaidData {
    p_id: Id,
    #[serde(default)]
    s_ids: Vec<Id>,
    pay_amount: i64,
    pay_time: i64,
}

/// Tag 206 (refund succeeded): `aftersale_id`, `aftersale_status`, `aftersale_type`, `p_id`,
/// `s_id`, `reason_code`, `refund_amount`, `refund_post_amount`, `refund_voucher_num`,
/// `shop_id`, `success_time`, `update_time`.
#[derive(Deserialize)]
struct RefundData {
    p_id: Id,
    #[serde(default)]
    s_id: Option<Id>,
    aftersale_id: Id,
    refund_amount: i64,
    #[serde(default)]
    success_time: Option<Time>,
    #[serde(default)]
    update_time: Option<Time>,
}

/// The other order (100-110) and after-sale (200-208) tags: the order and, when sent, the
/// sub-order, statuses and the time of the change.
#[derive(Deserialize)]
struct StatusData {
    p_id: Id,
    #[serde(default)]
    s_id: Option<Id>,
    #[serde(default)]
    s_ids: Vec<Id>,
    #[serde(default)]
    update_time: Option<Time>,
    #[serde(default)]
    complete_time: Option<Time>,
    #[serde(default)]
    cancel_time: Option<Time>,
    #[serde(default)]
    create_time: Option<Time>,
    #[serde(default)]
    apply_time: Option<Time>,
    #[serde(default)]
    modify_time: Option<Time>,
}

/// A time sent as Unix seconds (number or string) or as `yyyy-MM-dd HH:mm:ss` (GMT+8) or
/// RFC 3339.
#[derive(Deserialize)]
#[serde(untagged)]
enum Time {
    Unix(i64),
    Text(String),
}

impl Time {
    fn rfc3339(&self) -> Result<Option<String>, Error> {
        match self {
            Time::Unix(0) => Ok(None),
            Time::Unix(s) => rfc3339_from_unix(*s).map(Some),
            Time::Text(t) if t.trim().is_empty() || t.trim() == "0" => Ok(None),
            Time::Text(t) => match t.trim().parse::<i64>() {
                Ok(s) => rfc3339_from_unix(s).map(Some),
                Err(_) if t.contains('T') => Ok(Some(t.trim().to_string())),
                Err(_) => gmt8_to_rfc3339(t.trim()).map(Some),
            },
        }
    }
}

fn first_time(times: &[&Option<Time>]) -> Result<Option<String>, Error> {
    for t in times.iter().copied().flatten() {
        if let Some(at) = t.rfc3339()? {
            return Ok(Some(at));
        }
    }
    Ok(None)
}

/// The order tags (100-110) and after-sale tags (200-208) Douyin pushes for an order.
pub const ORDER_TAGS: [&str; 10] = [
    "100", "101", "102", "103", "104", "105", "106", "108", "109", "110",
];
pub const AFTERSALE_TAGS: [&str; 9] = [
    "200", "201", "202", "203", "204", "205", "206", "207", "208",
];

fn data<'a, T: Deserialize<'a>>(m: &'a Message, tag: &str) -> Result<T, Error> {
    serde_json::from_str(&m.data)
        .map_err(|e| Error::malformed(format!("message {} (tag {tag}) data: {e}", m.msg_id.0)))
}

/// Parses a verified body into events: tag 101 an `order-notice`, tag 206 an
/// `order-refunded`, the other order and after-sale tags an `order-status`; each event's
/// platform status is the tag. Other tags give none.
pub fn parse(body: &[u8]) -> Result<ParsedDelivery, Error> {
    let messages: Vec<Message> = serde_json::from_slice(body)
        .map_err(|e| Error::malformed(format!("body is not a JSON array of messages: {e}")))?;
    let mut events = Vec::with_capacity(messages.len());
    for m in &messages {
        let tag = match &m.tag {
            Tag::Num(n) => n.to_string(),
            Tag::Str(s) => s.trim().to_string(),
        };
        let body = match tag.as_str() {
            "101" => {
                let d: PaidData = data(m, &tag)?;
                EventBody::OrderNotice(OrderNotice {
                    platform_order_id: d.p_id.0,
                    sub_order_ids: d.s_ids.into_iter().map(|s| s.0).collect(),
                    paid_fen: Some(non_negative("pay_amount", d.pay_amount)?),
                    paid_at: Some(rfc3339_from_unix(d.pay_time)?),
                })
            }
            "206" => {
                let d: RefundData = data(m, &tag)?;
                let at = first_time(&[&d.success_time, &d.update_time])?.ok_or_else(|| {
                    Error::malformed(format!(
                        "message {} (tag 206) has no success_time",
                        m.msg_id.0
                    ))
                })?;
                EventBody::OrderRefunded(OrderRefunded {
                    platform_order_id: d.p_id.0,
                    sub_order_id: d.s_id.map(|s| s.0).filter(|s| s != "0"),
                    refund_id: Some(d.aftersale_id.0),
                    refunded_fen: non_negative("refund_amount", d.refund_amount)?,
                    refunded_at: at,
                })
            }
            t if ORDER_TAGS.contains(&t) || AFTERSALE_TAGS.contains(&t) => {
                let d: StatusData = data(m, &tag)?;
                EventBody::OrderStatus(OrderStatus {
                    platform_order_id: d.p_id.0,
                    sub_order_id: d
                        .s_id
                        .or_else(|| d.s_ids.into_iter().next())
                        .map(|s| s.0)
                        .filter(|s| s != "0"),
                    at: first_time(&[
                        &d.update_time,
                        &d.complete_time,
                        &d.cancel_time,
                        &d.apply_time,
                        &d.modify_time,
                        &d.create_time,
                    ])?,
                })
            }
            _ => continue,
        };
        events.push(Event::new(m.msg_id.0.clone(), body, tag));
    }
    Ok(ParsedDelivery {
        events,
        reply: REPLY,
    })
}
