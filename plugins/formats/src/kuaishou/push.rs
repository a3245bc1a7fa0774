//! Kuaishou push deliveries: decryption (the authentication) and parsing.

use super::order::{OrderView, Status};
use crate::json::{Id, Int};
use crate::time::rfc3339_from_unix_ms;
use crate::{Error, Event, EventBody, OrderNotice, OrderStatus, ParsedDelivery, Reply};
use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::Pkcs7};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

/// What Kuaishou expects back.
pub const REPLY: Reply = Reply::json(r#"{"result":1}"#);

/// The AES key from the console's base64 message key (16, 24 or 32 bytes once decoded).
pub fn message_key(base64_key: &str) -> Result<Vec<u8>, Error> {
    let key = STANDARD
        .decode(base64_key.trim())
        .map_err(|_| Error::Config("message_private_key is not base64".into()))?;
    if ![16, 24, 32].contains(&key.len()) {
        return Err(Error::Config(format!(
            "message_private_key decodes to {} bytes, not an AES key (16, 24 or 32)",
            key.len()
        )));
    }
    Ok(key)
}

fn decrypt_with<C>(key: &[u8], data: &mut [u8]) -> Option<usize>
where
    cbc::Decryptor<C>: KeyIvInit + BlockDecryptMut,
    C: aes::cipher::BlockCipher + aes::cipher::BlockDecryptMut,
{
    let d = cbc::Decryptor::<C>::new_from_slices(key, &[0u8; 16]).ok()?;
    d.decrypt_padded_mut::<Pkcs7>(data).ok().map(<[u8]>::len)
}

/// Decrypts a body: base64, AES-CBC with a zero IV, PKCS#5 padding, UTF-8.
pub fn decrypt(key: &[u8], body: &[u8]) -> Result<String, Error> {
    let text = std::str::from_utf8(body)
        .map_err(|_| Error::unauthorized("the body is not base64 text"))?;
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let mut data = STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| Error::unauthorized("the body is not base64"))?;
    if data.is_empty() || data.len() % 16 != 0 {
        return Err(Error::unauthorized(
            "the body is not whole AES blocks (truncated?)",
        ));
    }
    let len = match key.len() {
        16 => decrypt_with::<aes::Aes128>(key, &mut data),
        24 => decrypt_with::<aes::Aes192>(key, &mut data),
        32 => decrypt_with::<aes::Aes256>(key, &mut data),
        n => {
            return Err(Error::Config(format!(
                "an AES key has 16, 24 or 32 bytes, not {n}"
            )));
        }
    }
    .ok_or_else(|| {
        Error::unauthorized("the body does not decrypt with the message key (bad padding)")
    })?;
    data.truncate(len);
    String::from_utf8(data)
        .map_err(|_| Error::unauthorized("the body does not decrypt with the message key"))
}

/// Checks that the body decrypts with the key, and that it is not another app's message when
/// the plaintext names one.
pub fn verify(app_key: &str, key: &[u8], body: &[u8]) -> Result<(), Error> {
    let plain = decrypt(key, body)?;
    check_app(app_key, &plain)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AppOnly {
    #[serde(default)]
    app_key: Option<String>,
}

fn check_app(app_key: &str, plain: &str) -> Result<(), Error> {
    // A plaintext that is not JSON is left to `parse` to call malformed.
    if let Ok(AppOnly { app_key: Some(k) }) = serde_json::from_str::<AppOnly>(plain)
        && !k.is_empty()
        && k != app_key
    {
        return Err(Error::unauthorized(format!(
            "the message is for appKey `{k}`, not this plugin's app_key"
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Message {
    #[serde(default)]
    event_id: Option<String>,
    #[serde(default)]
    event: Option<String>,
    #[serde(default)]
    info: Option<String>,
    #[serde(default)]
    test: bool,
}

/// Decrypts and parses a verified delivery into at most one event.
pub fn parse(app_key: &str, key: &[u8], body: &[u8]) -> Result<ParsedDelivery, Error> {
    let plain = decrypt(key, body)?;
    check_app(app_key, &plain)?;
    let m: Message = serde_json::from_str(&plain)
        .map_err(|e| Error::malformed(format!("the decrypted message is not JSON: {e}")))?;
    let mut events = Vec::new();
    if !m.test {
        let event_id = m
            .event_id
            .filter(|e| !e.is_empty())
            .ok_or_else(|| Error::malformed("the message has no eventId"))?;
        let info: serde_json::Value = match &m.info {
            Some(info) => serde_json::from_str(info).map_err(|e| {
                Error::malformed(format!("message {event_id}: info is not JSON: {e}"))
            })?,
            None => serde_json::Value::Null,
        };
        let event = m.event.as_deref().unwrap_or("");
        if info.get("cpsOrderStatus").is_none() && event.starts_with("kwaishop_order_") {
            events.push(order_message(&event_id, event, info)?);
        } else if info.get("cpsOrderStatus").is_none() && event.starts_with("kwaishop_aftersales_")
        {
            events.push(aftersale_message(&event_id, event, info)?);
        } else if info.get("cpsOrderStatus").is_some() {
            let view: OrderView = serde_json::from_value(info).map_err(|e| {
                Error::malformed(format!(
                    "message {event_id} ({}): order view: {e}",
                    m.event.as_deref().unwrap_or("?")
                ))
            })?;
            let body = match view.status() {
                Status::Paid => Some(view.paid()?),
                Status::Settled => Some(view.settled()?),
                Status::Void => Some(view.voided()?),
                Status::Other => None,
            };
            if let Some(body) = body {
                events.push(Event::new(
                    event_id,
                    body,
                    view.cps_order_status.0.to_string(),
                ));
            }
        }
    }
    Ok(ParsedDelivery {
        events,
        reply: REPLY,
    })
}

/// `kwaishop_order_*` info: `oid`, `sellerId`, `status`, `updateTime` / `createTime` (ms).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderInfo {
    oid: Id,
    #[serde(default)]
    status: Option<Int>,
    #[serde(default)]
    update_time: Option<Int>,
    #[serde(default)]
    create_time: Option<Int>,
}

/// `kwaishop_aftersales_*` info: `orderId`, `refundId`, `handlingWay`, `status`,
/// `updateTime` / `createTime` (ms).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AftersaleInfo {
    order_id: Id,
    refund_id: Id,
    #[serde(default)]
    status: Option<Int>,
    #[serde(default)]
    update_time: Option<Int>,
    #[serde(default)]
    create_time: Option<Int>,
}

fn ms_time(t: &[Option<Int>]) -> Result<Option<String>, Error> {
    match t.iter().flatten().find(|t| t.0 > 0) {
        Some(t) => rfc3339_from_unix_ms(t.0).map(Some),
        None => Ok(None),
    }
}

/// A seller order message: `kwaishop_order_paySuccess` is an `order-notice` (the message has
/// no amount, item or distributor: the CPS pull completes it), the other `kwaishop_order_*`
/// are `order-status`. The platform status is `<event>:<status>`.
fn order_message(event_id: &str, event: &str, info: serde_json::Value) -> Result<Event, Error> {
    let i: OrderInfo = serde_json::from_value(info)
        .map_err(|e| Error::malformed(format!("message {event_id} ({event}): {e}")))?;
    let at = ms_time(&[i.update_time, i.create_time])?;
    let status = match i.status {
        Some(s) => format!("{event}:{}", s.0),
        None => event.to_string(),
    };
    let body = if event == "kwaishop_order_paySuccess" {
        EventBody::OrderNotice(OrderNotice {
            platform_order_id: i.oid.0,
            sub_order_ids: Vec::new(),
            paid_fen: None,
            paid_at: at,
        })
    } else {
        EventBody::OrderStatus(OrderStatus {
            platform_order_id: i.oid.0,
            sub_order_id: None,
            at,
        })
    };
    Ok(Event::new(event_id, body, status))
}

/// An after-sale message (`kwaishop_aftersales_addRefund`, `..._updateRefund`, ...): the
/// order's status history records the refund id and its status (`<event>:<refundId>:<status>`).
/// The message carries no amount: the refunded amount comes from the CPS order pull (status 80).
fn aftersale_message(event_id: &str, event: &str, info: serde_json::Value) -> Result<Event, Error> {
    let i: AftersaleInfo = serde_json::from_value(info)
        .map_err(|e| Error::malformed(format!("message {event_id} ({event}): {e}")))?;
    let status = format!(
        "{}:{}:{}",
        event.trim_start_matches("kwaishop_"),
        i.refund_id.0,
        i.status.map(|s| s.0).unwrap_or_default()
    );
    Ok(Event::new(
        event_id,
        EventBody::OrderStatus(OrderStatus {
            platform_order_id: i.order_id.0,
            sub_order_id: None,
            at: ms_time(&[i.update_time, i.create_time])?,
        }),
        status,
    ))
}
