//! Douyin push deliveries: verification and parsing (see the module docs for the table).

use crate::json::Id;
use crate::money::non_negative;
use crate::time::rfc3339_from_unix;
use crate::{
    Error, Event, EventBody, OrderPaid, OrderRefunded, ParsedDelivery, Reply, ct_eq, header,
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

#[derive(Deserialize)]
struct PaidData {
    p_id: Id,
    #[serde(default)]
    s_ids: Vec<Id>,
    pay_amount: i64,
    pay_time: i64,
    #[serde(default)]
    product_id: Option<Id>,
    #[serde(default)]
    author_id: Option<Id>,
    #[serde(default)]
    room_id: Option<Id>,
    #[serde(default)]
    item_num: Option<u32>,
}

#[derive(Deserialize)]
struct RefundData {
    p_id: Id,
    #[serde(default)]
    s_id: Option<Id>,
    aftersale_id: Id,
    refund_amount: i64,
    update_time: i64,
}

fn data<'a, T: Deserialize<'a>>(m: &'a Message, tag: &str) -> Result<T, Error> {
    serde_json::from_str(&m.data)
        .map_err(|e| Error::malformed(format!("message {} (tag {tag}) data: {e}", m.msg_id.0)))
}

/// Parses a verified body into events; unknown tags give none.
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
                EventBody::OrderPaid(OrderPaid {
                    platform_order_id: d.p_id.0,
                    sub_order_id: d.s_ids.into_iter().next().map(|s| s.0),
                    item_id: d.product_id.map(|p| p.0).unwrap_or_default(),
                    account_id: d.author_id.map(|a| a.0),
                    room_id: d.room_id.map(|r| r.0).filter(|r| r != "0"),
                    units: d.item_num.unwrap_or(1),
                    paid_fen: non_negative("pay_amount", d.pay_amount)?,
                    commission_bp: None,
                    paid_at: rfc3339_from_unix(d.pay_time)?,
                })
            }
            "206" => {
                let d: RefundData = data(m, &tag)?;
                EventBody::OrderRefunded(OrderRefunded {
                    platform_order_id: d.p_id.0,
                    sub_order_id: d.s_id.map(|s| s.0),
                    refund_id: d.aftersale_id.0,
                    refunded_fen: non_negative("refund_amount", d.refund_amount)?,
                    refunded_at: rfc3339_from_unix(d.update_time)?,
                })
            }
            _ => continue,
        };
        events.push(Event {
            key: m.msg_id.0.clone(),
            body,
        });
    }
    Ok(ParsedDelivery {
        events,
        reply: REPLY,
    })
}
