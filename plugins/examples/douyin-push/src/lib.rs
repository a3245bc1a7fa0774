//! Douyin-style push deliveries (kolhost design §5a), as plain Rust with no host dependency.
//!
//! A delivery is a `POST` whose body is a JSON array of `{tag, msg_id, data}` where `data` is a
//! JSON string; the header `event-sign` is `hex(md5(app_key + body + app_secret))`. Tag 101 is
//! an order paid, tag 206 a refund that succeeded; other tags are acknowledged and ignored.
//! The plugin must answer `{"code":0,"msg":"success"}`.
//!
//! Used by `example-platform` (a WASM component), and by the host's benchmark as the native and
//! the Extism variants of the same logic.

use md5::{Digest, Md5};
use serde::Deserialize;

/// The reply body the platform expects.
pub const REPLY: &str = r#"{"code":0,"msg":"success"}"#;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Missing or wrong `event-sign`.
    BadSignature,
    /// The body is not what Douyin sends.
    Malformed(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::BadSignature => {
                f.write_str("event-sign does not match md5(app_key + body + app_secret)")
            }
            Error::Malformed(m) => write!(f, "malformed delivery: {m}"),
        }
    }
}

/// A normalised event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `msg_id`: repeats of a delivery carry the same one.
    pub key: String,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Paid {
        order_id: String,
        sub_order_id: Option<String>,
        item_id: String,
        author_id: Option<String>,
        room_id: Option<String>,
        units: u32,
        paid_fen: i64,
        paid_at: String,
    },
    Refunded {
        order_id: String,
        sub_order_id: Option<String>,
        refund_id: String,
        refunded_fen: i64,
        refunded_at: String,
    },
}

/// Checks `event-sign` (case-insensitive hex) against `md5(app_key + body + app_secret)`.
pub fn verify(
    app_key: &str,
    app_secret: &str,
    event_sign: Option<&str>,
    body: &[u8],
) -> Result<(), Error> {
    let sign = event_sign.ok_or(Error::BadSignature)?;
    let mut h = Md5::new();
    h.update(app_key.as_bytes());
    h.update(body);
    h.update(app_secret.as_bytes());
    let want = h.finalize();
    let mut got = [0u8; 16];
    hex::decode_to_slice(sign.trim(), &mut got).map_err(|_| Error::BadSignature)?;
    // Not secret-dependent timing worth protecting beyond this: compare all bytes.
    if want
        .iter()
        .zip(got.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
    {
        Ok(())
    } else {
        Err(Error::BadSignature)
    }
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    tag: Tag<'a>,
    #[serde(borrow)]
    msg_id: std::borrow::Cow<'a, str>,
    data: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Tag<'a> {
    Num(u32),
    Str(&'a str),
}

impl Tag<'_> {
    fn code(&self) -> Option<u32> {
        match self {
            Tag::Num(n) => Some(*n),
            Tag::Str(s) => s.parse().ok(),
        }
    }
}

/// Douyin ids are 19-digit integers, sometimes sent as strings.
#[derive(Deserialize)]
#[serde(untagged)]
enum Id {
    Num(u64),
    Str(String),
}

impl Id {
    fn into_string(self) -> String {
        match self {
            Id::Num(n) => n.to_string(),
            Id::Str(s) => s,
        }
    }
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
    #[serde(default)]
    update_time: Option<i64>,
}

fn malformed(e: impl std::fmt::Display) -> Error {
    Error::Malformed(e.to_string())
}

/// Parses a verified delivery body into events (unknown tags are skipped).
pub fn parse(body: &[u8]) -> Result<Vec<Event>, Error> {
    let messages: Vec<Message<'_>> = serde_json::from_slice(body).map_err(malformed)?;
    let mut events = Vec::with_capacity(messages.len());
    for m in messages {
        let code = m
            .tag
            .code()
            .ok_or_else(|| malformed("tag is not a number"))?;
        let kind = match code {
            101 => {
                let d: PaidData = serde_json::from_str(&m.data).map_err(malformed)?;
                if d.pay_amount < 0 {
                    return Err(malformed("negative pay_amount"));
                }
                Kind::Paid {
                    order_id: d.p_id.into_string(),
                    sub_order_id: d.s_ids.into_iter().next().map(Id::into_string),
                    item_id: d.product_id.map(Id::into_string).unwrap_or_default(),
                    author_id: d.author_id.map(Id::into_string),
                    room_id: d.room_id.map(Id::into_string),
                    units: d.item_num.unwrap_or(1),
                    paid_fen: d.pay_amount,
                    paid_at: rfc3339(d.pay_time),
                }
            }
            206 => {
                let d: RefundData = serde_json::from_str(&m.data).map_err(malformed)?;
                if d.refund_amount < 0 {
                    return Err(malformed("negative refund_amount"));
                }
                Kind::Refunded {
                    order_id: d.p_id.into_string(),
                    sub_order_id: d.s_id.map(Id::into_string),
                    refund_id: d.aftersale_id.into_string(),
                    refunded_fen: d.refund_amount,
                    refunded_at: rfc3339(d.update_time.unwrap_or(0)),
                }
            }
            _ => continue,
        };
        events.push(Event {
            key: m.msg_id.into_owned(),
            kind,
        });
    }
    Ok(events)
}

/// Unix seconds to RFC 3339 UTC (`2021-08-30T06:33:55Z`), proleptic Gregorian.
pub fn rfc3339(unix_secs: i64) -> String {
    let days = unix_secs.div_euclid(86_400);
    let secs = unix_secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// A sample delivery (two messages: one paid, one refund), and its signature for
/// `app_key = "ak"`, `app_secret = "sk"`. For tests and benchmarks.
pub fn sample_delivery() -> (Vec<u8>, String) {
    let paid = r#"{"p_id":4781320682406083640,"s_ids":[4781320682406083641],"shop_id":4463798,"pay_amount":29900,"pay_time":1630305235,"product_id":3556357046087622442,"author_id":"71234567","room_id":"7001","item_num":2}"#;
    let refund = r#"{"p_id":4781320682406083640,"s_id":4781320682406083641,"aftersale_id":"6987654321","refund_amount":9900,"update_time":1630391635}"#;
    let body = serde_json::json!([
        {"tag": "101", "msg_id": "m-101-1", "data": paid},
        {"tag": "206", "msg_id": "m-206-1", "data": refund},
    ])
    .to_string()
    .into_bytes();
    let sign = sign("ak", &body, "sk");
    (body, sign)
}

/// `event-sign` for `body`: `hex(md5(app_key + body + app_secret))`. For tests and load
/// generators that play the platform.
pub fn sign(app_key: &str, body: &[u8], app_secret: &str) -> String {
    let mut h = Md5::new();
    h.update(app_key.as_bytes());
    h.update(body);
    h.update(app_secret.as_bytes());
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_verifies_and_parses() {
        let (body, sign) = sample_delivery();
        verify("ak", "sk", Some(&sign), &body).unwrap();
        assert_eq!(
            verify("ak", "other", Some(&sign), &body),
            Err(Error::BadSignature)
        );
        let events = parse(&body).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(rfc3339(1630305235), "2021-08-30T06:33:55Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
