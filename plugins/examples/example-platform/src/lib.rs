//! An example platform plugin to copy: Douyin push deliveries (tag 101 order notice, tag 206
//! refund succeeded, the other order and after-sale tags status changes), verified and parsed with
//! `kolhost-platform-formats` (`event-sign = md5(app_key + body + app_secret)`, or HMAC-SHA256
//! with `sign-method: hmac-sha256`), then handed to the host as the WIT types. Reads `app_key`
//! from its config and `app_secret` from its secrets. Grants it needs: `config`. No pull API:
//! `poll` returns nothing. The bundled `douyin` plugin (`plugins/douyin`) is the complete one,
//! with the order pull.

use kolhost_platform_formats::{self as formats, douyin::push};
use kolhost_plugin_sdk::host::config;
use kolhost_plugin_sdk::platform::*;

struct ExamplePlatform;

fn credentials() -> Result<(String, String), PluginError> {
    let key =
        config::get("app_key").ok_or_else(|| PluginError::Config("app_key is not set".into()))?;
    let secret = config::get_secret("app_secret")
        .ok_or_else(|| PluginError::Config("secret app_secret is not set".into()))?;
    Ok((key, secret))
}

/// A formats error as the WIT error of the same meaning.
fn to_error(e: formats::Error) -> PluginError {
    match e {
        formats::Error::Unauthorized(m) => PluginError::Unauthorized(m),
        formats::Error::Malformed(m) => PluginError::Malformed(m),
        formats::Error::Config(m) => PluginError::Config(m),
        formats::Error::Upstream(m) => PluginError::Upstream(m),
    }
}

/// A formats event as the WIT event (a Douyin push gives order notices, status changes and
/// refunds).
fn to_event(e: formats::Event) -> Event {
    let body = match e.body {
        formats::EventBody::OrderNotice(n) => EventBody::OrderNotice(OrderNotice {
            platform_order_id: n.platform_order_id,
            sub_order_ids: n.sub_order_ids,
            paid_fen: n.paid_fen,
            paid_at: n.paid_at,
        }),
        formats::EventBody::OrderStatus(s) => EventBody::OrderStatus(OrderStatus {
            platform_order_id: s.platform_order_id,
            sub_order_id: s.sub_order_id,
            at: s.at,
        }),
        formats::EventBody::OrderPaid(p) => EventBody::OrderPaid(OrderPaid {
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
        formats::EventBody::OrderRefunded(r) => EventBody::OrderRefunded(OrderRefunded {
            platform_order_id: r.platform_order_id,
            sub_order_id: r.sub_order_id,
            refund_id: r.refund_id,
            refunded_fen: r.refunded_fen,
            refunded_at: r.refunded_at,
        }),
        formats::EventBody::OrderSettled(s) => EventBody::OrderSettled(OrderSettled {
            platform_order_id: s.platform_order_id,
            sub_order_id: s.sub_order_id,
            settled_fen: s.settled_fen,
            commission_fen: s.commission_fen,
            platform_fee_fen: s.platform_fee_fen,
            settled_at: s.settled_at,
        }),
        formats::EventBody::LiveStats(s) => EventBody::LiveStats(LiveStats {
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

impl Platform for ExamplePlatform {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "example-platform".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            platform: "douyin".into(),
            description: "Example: Douyin push deliveries (tags 101 and 206)".into(),
        }
    }

    fn verify_webhook(d: Delivery) -> Result<(), PluginError> {
        let (key, secret) = credentials()?;
        push::verify(&key, &secret, &d.headers, &d.body).map_err(to_error)
    }

    fn parse_webhook(d: Delivery) -> Result<Parsed, PluginError> {
        let parsed = push::parse(&d.body).map_err(to_error)?;
        Ok(Parsed {
            events: parsed.events.into_iter().map(to_event).collect(),
            reply: Reply {
                status: parsed.reply.status,
                content_type: parsed.reply.content_type.into(),
                body: parsed.reply.body.as_bytes().to_vec(),
            },
        })
    }

    fn poll(_cursor: Option<String>) -> Result<PollResult, PluginError> {
        Ok(PollResult {
            events: Vec::new(),
            next_cursor: None,
            receipt: None,
        })
    }

    fn confirm(_receipt: String) -> Result<(), PluginError> {
        Ok(())
    }
}

kolhost_plugin_sdk::export_platform!(ExamplePlatform);
