//! What the bundled platform plugins (`taobao`, `douyin`, `kuaishou`) share: reading their
//! config and secrets, turning `kolhost-platform-formats` results into the WIT types, sending
//! the pull request through the host's `http` import, and the poll window.
//!
//! Config keys read here: `api_base` (config; each plugin has its platform's real host as the
//! default) and `poll_window_minutes` (config; 1 to 180, default 60: how far back a poll
//! without a cursor starts).

use kolhost_platform_formats as formats;
use kolhost_plugin_sdk::host::{clock, config, http};
use kolhost_plugin_sdk::platform::*;

/// The default poll window, minutes.
pub const DEFAULT_WINDOW_MINUTES: i64 = 60;

/// A formats error as the WIT error of the same meaning.
pub fn to_error(e: formats::Error) -> PluginError {
    match e {
        formats::Error::Unauthorized(m) => PluginError::Unauthorized(m),
        formats::Error::Malformed(m) => PluginError::Malformed(m),
        formats::Error::Config(m) => PluginError::Config(m),
        formats::Error::Upstream(m) => PluginError::Upstream(m),
    }
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// A config value, none when unset or blank.
pub fn value(key: &str) -> Option<String> {
    non_empty(config::get(key))
}

/// A secret, none when unset or blank.
pub fn secret(key: &str) -> Option<String> {
    non_empty(config::get_secret(key))
}

/// A config value that must be set.
pub fn required(key: &str) -> Result<String, PluginError> {
    value(key).ok_or_else(|| PluginError::Config(format!("config `{key}` is not set")))
}

/// A secret that must be set (its value is never put in a message).
pub fn required_secret(key: &str) -> Result<String, PluginError> {
    secret(key).ok_or_else(|| PluginError::Config(format!("secret `{key}` is not set")))
}

/// `api_base`, or the platform's real host.
pub fn api_base(default: &str) -> Result<String, PluginError> {
    let base = value("api_base").unwrap_or_else(|| default.to_string());
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err(PluginError::Config(format!(
            "config `api_base` ({base}) is not an http(s) URL"
        )));
    }
    Ok(base)
}

/// The first value of a delivery header.
pub fn header<'a>(d: &'a Delivery, name: &str) -> Option<&'a str> {
    formats::header(&d.headers, name)
}

/// A formats event as the WIT event of the same meaning.
pub fn event(e: formats::Event) -> Event {
    use formats::EventBody as F;
    let body = match e.body {
        F::OrderNotice(n) => EventBody::OrderNotice(OrderNotice {
            platform_order_id: n.platform_order_id,
            sub_order_ids: n.sub_order_ids,
            paid_fen: n.paid_fen,
            paid_at: n.paid_at,
        }),
        F::OrderStatus(s) => EventBody::OrderStatus(OrderStatus {
            platform_order_id: s.platform_order_id,
            sub_order_id: s.sub_order_id,
            at: s.at,
        }),
        F::OrderPaid(p) => EventBody::OrderPaid(OrderPaid {
            platform_order_id: p.platform_order_id,
            sub_order_id: p.sub_order_id,
            item_id: p.item_id,
            account_id: p.account_id,
            room_id: p.room_id,
            units: p.units,
            paid_fen: p.paid_fen,
            commission_bp: p.commission_bp,
            paid_at: p.paid_at,
        }),
        F::OrderRefunded(r) => EventBody::OrderRefunded(OrderRefunded {
            platform_order_id: r.platform_order_id,
            sub_order_id: r.sub_order_id,
            refund_id: r.refund_id,
            refunded_fen: r.refunded_fen,
            refunded_at: r.refunded_at,
        }),
        F::OrderSettled(s) => EventBody::OrderSettled(OrderSettled {
            platform_order_id: s.platform_order_id,
            sub_order_id: s.sub_order_id,
            settled_fen: s.settled_fen,
            commission_fen: s.commission_fen,
            platform_fee_fen: s.platform_fee_fen,
            settled_at: s.settled_at,
        }),
        F::LiveStats(s) => EventBody::LiveStats(LiveStats {
            room_id: s.room_id,
            account_id: s.account_id,
            at: s.at,
            viewers: s.viewers,
            gmv_fen: s.gmv_fen,
            orders: s.orders,
        }),
    };
    Event {
        key: e.key,
        body,
        platform_status: e.platform_status,
    }
}

/// A parsed delivery in WIT types.
pub fn parsed(p: formats::ParsedDelivery) -> Parsed {
    Parsed {
        events: p.events.into_iter().map(event).collect(),
        reply: Reply {
            status: p.reply.status,
            content_type: p.reply.content_type.to_string(),
            body: p.reply.body.as_bytes().to_vec(),
        },
    }
}

/// Now, Unix milliseconds (the `clock` import).
pub fn now_ms() -> i64 {
    clock::now_ms()
}

/// The cursor to fetch: the host's, or a fresh window ending now.
pub fn cursor(given: Option<String>) -> Result<formats::PollCursor, PluginError> {
    match given {
        Some(c) => formats::PollCursor::parse(&c).map_err(to_error),
        None => {
            let minutes = match value("poll_window_minutes") {
                None => DEFAULT_WINDOW_MINUTES,
                Some(m) => m
                    .parse::<i64>()
                    .ok()
                    .filter(|m| (1..=180).contains(m))
                    .ok_or_else(|| {
                        PluginError::Config(format!(
                            "config `poll_window_minutes` ({m}) is not a number from 1 to 180"
                        ))
                    })?,
            };
            Ok(formats::PollCursor::start(now_ms(), minutes * 60_000))
        }
    }
}

/// Sends a pull request through the host; answers the status and body.
pub fn send(req: formats::ApiRequest) -> Result<(u16, Vec<u8>), PluginError> {
    let resp = http::send(&http::Request {
        method: req.method.to_string(),
        url: req.url,
        headers: req.headers,
        body: req.body,
        timeout_ms: Some(8_000),
    })
    .map_err(|e| {
        PluginError::Upstream(match e {
            http::HttpError::NotAllowed(m) => format!("the open API host is not allowed: {m}"),
            http::HttpError::InvalidRequest(m) => format!("invalid request: {m}"),
            http::HttpError::Timeout => "the open API did not answer in time".into(),
            http::HttpError::TooLarge(n) => format!("the answer is larger than {n} bytes"),
            http::HttpError::Transport(m) => format!("transport: {m}"),
        })
    })?;
    Ok((resp.status, resp.body))
}

/// The poll result of a page fetched at `cursor`.
pub fn poll_result(cursor: &formats::PollCursor, page: formats::ApiPage) -> PollResult {
    PollResult {
        events: page.events.into_iter().map(event).collect(),
        next_cursor: page.next_page.map(|p| cursor.next(p).encode()),
        receipt: None,
    }
}
