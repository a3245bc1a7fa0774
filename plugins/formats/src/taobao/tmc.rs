//! TMC, Taobao's message channel, consumed over the TOP API (not pushed to a URL):
//! `taobao.tmc.messages.consume` takes a batch (`group_name`, `quantity` up to 200) and
//! answers `{"tmc_messages_consume_response": {"messages": {"tmc_message": [{id, topic,
//! content, pub_time, pub_app_key, user_id, user_nick}, ...]}}}`; messages stay with TMC until
//! `taobao.tmc.messages.confirm` acknowledges them by id (`s_message_ids`, comma-separated, up
//! to 200) and are delivered again otherwise. The plugin confirms only what the host committed
//! (the poll's receipt is the comma-separated ids), so a crash in between redelivers, and the
//! message id (the event key) makes the repeat count once.

use super::api::Credentials;
use super::push::{Message, event_of};
use super::sign::sign;
use crate::time::format_gmt8;
use crate::urlenc::encode_pairs;
use crate::{ApiRequest, Error, Event};
use serde::Deserialize;

pub const METHOD_CONSUME: &str = "taobao.tmc.messages.consume";
pub const METHOD_CONFIRM: &str = "taobao.tmc.messages.confirm";
/// Messages taken per consume (TMC allows up to 200).
pub const BATCH: u32 = 100;
/// Most ids one confirm may carry.
pub const MAX_CONFIRM: usize = 200;

fn request(c: &Credentials<'_>, method: &str, extra: &[(&str, &str)], now_secs: i64) -> ApiRequest {
    let timestamp = format_gmt8(now_secs);
    let mut params: Vec<(&str, &str)> = vec![
        ("method", method),
        ("app_key", c.app_key),
        ("timestamp", &timestamp),
        ("v", "2.0"),
        ("format", "json"),
        ("sign_method", c.sign_method.as_str()),
    ];
    if let Some(s) = c.session {
        params.push(("session", s));
    }
    params.extend_from_slice(extra);
    let sign = sign(&params, b"", c.app_secret, c.sign_method);
    params.push(("sign", &sign));
    ApiRequest {
        method: "POST",
        url: format!("{}{}", c.api_base.trim_end_matches('/'), super::api::PATH),
        headers: vec![(
            "content-type".into(),
            "application/x-www-form-urlencoded;charset=utf-8".into(),
        )],
        body: encode_pairs(params).into_bytes(),
    }
}

/// `taobao.tmc.messages.consume` of up to [`BATCH`] messages of `group`.
pub fn consume_request(c: &Credentials<'_>, group: &str, now_secs: i64) -> ApiRequest {
    let quantity = BATCH.to_string();
    request(
        c,
        METHOD_CONSUME,
        &[("group_name", group), ("quantity", &quantity)],
        now_secs,
    )
}

/// `taobao.tmc.messages.confirm` of the messages `ids` (at most [`MAX_CONFIRM`]).
pub fn confirm_request(
    c: &Credentials<'_>,
    group: &str,
    ids: &[&str],
    now_secs: i64,
) -> ApiRequest {
    let ids = ids.join(",");
    request(
        c,
        METHOD_CONFIRM,
        &[("group_name", group), ("s_message_ids", &ids)],
        now_secs,
    )
}

/// A consumed batch: the events of the messages kolhost follows, and the ids of every message
/// (followed or not) to confirm once the events are committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub events: Vec<Event>,
    pub ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Messages {
    Wrapped { tmc_message: Vec<Message> },
    Plain(Vec<Message>),
}

#[derive(Deserialize)]
struct ConsumeBody {
    #[serde(default)]
    messages: Option<Messages>,
}

#[derive(Deserialize)]
struct ConfirmBody {
    #[serde(default)]
    is_success: bool,
}

fn top_error(method: &str, root: &serde_json::Map<String, serde_json::Value>) -> Option<Error> {
    let e = root.get("error_response")?;
    Some(Error::Upstream(format!(
        "{method} failed: {} {} {} {}",
        e.get("code").map(|c| c.to_string()).unwrap_or_default(),
        e.get("msg").and_then(|m| m.as_str()).unwrap_or(""),
        e.get("sub_code").and_then(|m| m.as_str()).unwrap_or(""),
        e.get("sub_msg").and_then(|m| m.as_str()).unwrap_or("")
    )))
}

fn root(
    method: &str,
    status: u16,
    body: &[u8],
) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    if !(200..300).contains(&status) {
        return Err(Error::Upstream(format!(
            "{method} answered HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        )));
    }
    let root: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body)
        .map_err(|e| Error::malformed(format!("{method} response: {e}")))?;
    match top_error(method, &root) {
        Some(e) => Err(e),
        None => Ok(root),
    }
}

/// Parses an answer of [`consume_request`].
pub fn parse_consume(status: u16, body: &[u8]) -> Result<Batch, Error> {
    let mut root = root(METHOD_CONSUME, status, body)?;
    let inner = root
        .remove("tmc_messages_consume_response")
        .ok_or_else(|| Error::malformed(format!("{METHOD_CONSUME} response has no body")))?;
    let b: ConsumeBody = serde_json::from_value(inner)
        .map_err(|e| Error::malformed(format!("{METHOD_CONSUME} response: {e}")))?;
    let messages = match b.messages {
        None => Vec::new(),
        Some(Messages::Wrapped { tmc_message }) => tmc_message,
        Some(Messages::Plain(m)) => m,
    };
    let mut batch = Batch {
        events: Vec::with_capacity(messages.len()),
        ids: Vec::with_capacity(messages.len()),
    };
    for m in &messages {
        let id =
            m.id.as_ref()
                .ok_or_else(|| Error::malformed("a TMC message has no id"))?;
        batch.ids.push(id.0.clone());
        batch.events.extend(event_of(m)?);
    }
    Ok(batch)
}

/// Parses an answer of [`confirm_request`].
pub fn parse_confirm(status: u16, body: &[u8]) -> Result<(), Error> {
    let mut root = root(METHOD_CONFIRM, status, body)?;
    let inner = root
        .remove("tmc_messages_confirm_response")
        .ok_or_else(|| Error::malformed(format!("{METHOD_CONFIRM} response has no body")))?;
    let b: ConfirmBody = serde_json::from_value(inner)
        .map_err(|e| Error::malformed(format!("{METHOD_CONFIRM} response: {e}")))?;
    if b.is_success {
        Ok(())
    } else {
        Err(Error::Upstream(format!(
            "{METHOD_CONFIRM} answered is_success false"
        )))
    }
}
