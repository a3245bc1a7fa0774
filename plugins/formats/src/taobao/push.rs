//! Taobao TMC messages pushed over HTTP: verification and parsing.

use super::sign::{SignMethod, sign};
use crate::json::{Id, Int};
use crate::money::yuan_to_fen;
use crate::time::gmt8_to_rfc3339;
use crate::urlenc::parse_pairs;
use crate::{Error, Event, EventBody, OrderNotice, OrderRefunded, ParsedDelivery, Reply, ct_eq};
use serde::Deserialize;

/// What the plugin answers.
pub const REPLY: Reply = Reply::json(r#"{"success":true}"#);

pub const TOPIC_PAID: &str = "taobao_trade_TradeBuyerPay";
pub const TOPIC_REFUND: &str = "taobao_refund_RefundSuccess";

/// Checks `app_key` and the TOP `sign` of the query parameters and the body.
pub fn verify(app_key: &str, app_secret: &str, query: &str, body: &[u8]) -> Result<(), Error> {
    let pairs = parse_pairs(query)
        .map_err(|e| Error::unauthorized(format!("the query string is not valid: {e}")))?;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| Error::unauthorized(format!("query parameter `{k}` is missing")))
    };
    let theirs = get("app_key")?;
    if theirs != app_key {
        return Err(Error::unauthorized(format!(
            "the delivery is for app_key `{theirs}`, not this plugin's"
        )));
    }
    get("timestamp")?;
    let method = SignMethod::parse(get("sign_method")?)
        .map_err(|e| Error::unauthorized(e.message().to_string()))?;
    let given = get("sign")?;
    let params: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(k, _)| k != "sign")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let want = sign(&params, body, app_secret, method);
    if ct_eq(
        want.as_bytes(),
        given.trim().to_ascii_uppercase().as_bytes(),
    ) {
        Ok(())
    } else {
        Err(Error::unauthorized(format!(
            "sign does not match the TOP {} signature of the query and body",
            method.as_str()
        )))
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum Body {
    One(Message),
    Many(Vec<Message>),
}

#[derive(Deserialize)]
pub(crate) struct Message {
    #[serde(default)]
    pub(crate) id: Option<Id>,
    pub(crate) topic: String,
    pub(crate) content: String,
    pub(crate) pub_time: String,
}

#[derive(Deserialize)]
struct Paid {
    tid: Id,
    #[serde(default)]
    oid: Option<Id>,
    payment: String,
    #[serde(default)]
    num: Option<Int>,
    #[serde(default)]
    pay_time: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
struct Refund {
    tid: Id,
    #[serde(default)]
    oid: Option<Id>,
    refund_id: Id,
    refund_fee: String,
    #[serde(default)]
    modified: Option<String>,
}

fn content<T: for<'a> Deserialize<'a>>(m: &Message) -> Result<T, Error> {
    serde_json::from_str(&m.content)
        .map_err(|e| Error::malformed(format!("{} content: {e}", m.topic)))
}

/// The event of one TMC message (`None` for topics kolhost does not follow).
pub(crate) fn event_of(m: &Message) -> Result<Option<Event>, Error> {
    let (fallback_key, body) = match m.topic.as_str() {
        TOPIC_PAID => {
            let c: Paid = content(m)?;
            if let Some(Int(n)) = c.num
                && n <= 0
            {
                return Err(Error::malformed(format!("num {n} is not a unit count")));
            }
            let oid = c.oid.map(|o| o.0);
            (
                format!(
                    "{}:{}:{}:{}",
                    m.topic,
                    c.tid.0,
                    oid.as_deref().unwrap_or(""),
                    c.status.as_deref().unwrap_or("")
                ),
                // The trade message names no item the agency can attribute (and no KOL): a
                // notice, completed by the Union order pull.
                EventBody::OrderNotice(OrderNotice {
                    platform_order_id: c.tid.0,
                    sub_order_ids: oid.into_iter().collect(),
                    paid_fen: Some(yuan_to_fen(&c.payment)?),
                    paid_at: Some(gmt8_to_rfc3339(
                        c.pay_time.as_deref().unwrap_or(&m.pub_time),
                    )?),
                }),
            )
        }
        TOPIC_REFUND => {
            let c: Refund = content(m)?;
            let oid = c.oid.map(|o| o.0);
            (
                format!(
                    "{}:{}:{}:{}",
                    m.topic,
                    c.tid.0,
                    oid.as_deref().unwrap_or(""),
                    c.refund_id.0
                ),
                EventBody::OrderRefunded(OrderRefunded {
                    platform_order_id: c.tid.0,
                    sub_order_id: oid,
                    refund_id: Some(c.refund_id.0),
                    refunded_fen: yuan_to_fen(&c.refund_fee)?,
                    refunded_at: gmt8_to_rfc3339(c.modified.as_deref().unwrap_or(&m.pub_time))?,
                }),
            )
        }
        _ => return Ok(None),
    };
    Ok(Some(Event::new(
        m.id.as_ref().map(|i| i.0.clone()).unwrap_or(fallback_key),
        body,
        m.topic.clone(),
    )))
}

/// Parses a verified body into events; other topics give none.
pub fn parse(body: &[u8]) -> Result<ParsedDelivery, Error> {
    let messages = match serde_json::from_slice::<Body>(body).map_err(|e| {
        Error::malformed(format!("body is not a TMC message or a list of them: {e}"))
    })? {
        Body::One(m) => vec![m],
        Body::Many(ms) => ms,
    };
    let mut events = Vec::with_capacity(messages.len());
    for m in &messages {
        events.extend(event_of(m)?);
    }
    Ok(ParsedDelivery {
        events,
        reply: REPLY,
    })
}
