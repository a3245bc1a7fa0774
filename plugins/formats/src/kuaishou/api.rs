//! The signed Kwaixiaodian open API: `open.distribution.cps.distributor.order.cursor.list`.

use super::order::{OrderView, Status};
use crate::json::canonical;
use crate::urlenc::encode_pairs;
use crate::{ApiPage, ApiRequest, Error, Event, PollCursor};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

pub const METHOD: &str = "open.distribution.cps.distributor.order.cursor.list";
pub const PATH: &str = "/open/distribution/cps/distributor/order/cursor/list";
/// Orders per page (at most 100).
pub const PAGE_SIZE: u32 = 100;
/// The `pcursor` that ends the list.
pub const NO_MORE: &str = "nomore";

/// `signMethod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignMethod {
    Md5,
    HmacSha256,
}

impl SignMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SignMethod::Md5 => "MD5",
            SignMethod::HmacSha256 => "HMAC_SHA256",
        }
    }

    /// `MD5` or `HMAC_SHA256` (the config value `sign_method`, any case).
    pub fn parse(s: &str) -> Result<SignMethod, Error> {
        match s.trim().to_ascii_uppercase().as_str() {
            "MD5" => Ok(SignMethod::Md5),
            "HMAC_SHA256" => Ok(SignMethod::HmacSha256),
            other => Err(Error::Config(format!(
                "sign_method `{other}` is not MD5 or HMAC_SHA256"
            ))),
        }
    }
}

/// The signature of `params` (everything but `sign`): sorted `k=v&...` + `&signSecret=..`.
pub fn sign(params: &[(&str, &str)], sign_secret: &str, method: SignMethod) -> String {
    let mut sorted: Vec<&(&str, &str)> = params.iter().filter(|(k, _)| *k != "sign").collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut s = sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    s.push_str("&signSecret=");
    s.push_str(sign_secret);
    match method {
        SignMethod::Md5 => hex::encode(Md5::digest(s.as_bytes())),
        SignMethod::HmacSha256 => {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(sign_secret.as_bytes())
                .expect("HMAC takes any key length");
            mac.update(s.as_bytes());
            STANDARD.encode(mac.finalize().into_bytes())
        }
    }
}

/// What the pull needs from the plugin's config.
pub struct Credentials<'a> {
    pub api_base: &'a str,
    pub app_key: &'a str,
    pub sign_secret: &'a str,
    pub access_token: &'a str,
    pub sign_method: SignMethod,
}

/// The `param` JSON of one page of the cursor's window (by update time, oldest first).
pub fn param(cursor: &PollCursor) -> String {
    canonical(&json!({
        "beginTime": cursor.from_ms,
        "cpsOrderStatus": 0,
        "endTime": cursor.to_ms,
        "pageSize": PAGE_SIZE,
        "pcursor": cursor.page.as_deref().unwrap_or(""),
        "queryType": 2,
        "sortType": 2,
    }))
}

/// The request for one page of the cursor's window, signed at `now_ms`.
pub fn order_request(c: &Credentials<'_>, cursor: &PollCursor, now_ms: i64) -> ApiRequest {
    let param = param(cursor);
    let timestamp = now_ms.to_string();
    let mut params = vec![
        ("access_token", c.access_token),
        ("appkey", c.app_key),
        ("method", METHOD),
        ("param", param.as_str()),
        ("signMethod", c.sign_method.as_str()),
        ("timestamp", timestamp.as_str()),
        ("version", "1"),
    ];
    let sign = sign(&params, c.sign_secret, c.sign_method);
    params.push(("sign", sign.as_str()));
    ApiRequest {
        method: "GET",
        url: format!(
            "{}{PATH}?{}",
            c.api_base.trim_end_matches('/'),
            encode_pairs(params)
        ),
        headers: vec![(
            "content-type".into(),
            "application/x-www-form-urlencoded;charset=UTF-8".into(),
        )],
        body: Vec::new(),
    }
}

#[derive(Deserialize)]
struct Envelope {
    result: i64,
    #[serde(default)]
    msg: Option<String>,
    #[serde(default)]
    error_msg: Option<String>,
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    data: Option<Data>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    #[serde(default)]
    pcursor: Option<String>,
    #[serde(default)]
    order_view: Vec<OrderView>,
}

fn events_of(o: &OrderView) -> Result<Vec<Event>, Error> {
    let oid = &o.oid.0;
    let status = o.status();
    if status == Status::Other {
        return Ok(Vec::new());
    }
    let code = o.cps_order_status.0.to_string();
    let mut out = vec![Event::new(format!("{oid}:paid"), o.paid()?, code.clone())];
    match status {
        Status::Settled => out.push(Event::new(format!("{oid}:settled"), o.settled()?, code)),
        Status::Void => out.push(Event::new(format!("{oid}:void"), o.voided()?, code)),
        Status::Paid | Status::Other => {}
    }
    Ok(out)
}

/// Parses an answer of [`order_request`]: events and the next `pcursor` (none at `nomore`).
pub fn parse_order_page(status: u16, body: &[u8]) -> Result<ApiPage, Error> {
    if !(200..300).contains(&status) {
        return Err(Error::Upstream(format!(
            "{METHOD} answered HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        )));
    }
    let env: Envelope = serde_json::from_slice(body)
        .map_err(|e| Error::malformed(format!("{METHOD} response: {e}")))?;
    if env.result != 1 {
        return Err(Error::Upstream(format!(
            "{METHOD} failed: result {} code {} {}",
            env.result,
            env.code.map(|c| c.to_string()).unwrap_or_default(),
            env.error_msg.or(env.msg).unwrap_or_default()
        )));
    }
    let data = env
        .data
        .ok_or_else(|| Error::malformed(format!("{METHOD} response has no data")))?;
    let mut events = Vec::with_capacity(data.order_view.len() * 2);
    for o in &data.order_view {
        events.extend(events_of(o)?);
    }
    let next_page = data
        .pcursor
        .filter(|p| !p.is_empty() && p != NO_MORE && !data.order_view.is_empty());
    Ok(ApiPage { events, next_page })
}
