//! An example platform plugin: verifies and parses Douyin-style push deliveries
//! (`event-sign = md5(app_key + body + app_secret)`), reading `app_key` from its config and
//! `app_secret` from its secrets. Grants it needs: `config`. No pull API: `poll` returns nothing.

use douyin_push::Kind;
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

fn header<'a>(d: &'a Delivery, name: &str) -> Option<&'a str> {
    d.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn to_error(e: douyin_push::Error) -> PluginError {
    match e {
        douyin_push::Error::BadSignature => PluginError::Unauthorized(e.to_string()),
        douyin_push::Error::Malformed(_) => PluginError::Malformed(e.to_string()),
    }
}

impl Platform for ExamplePlatform {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "example-platform".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            platform: "douyin".into(),
            description: "Example: Douyin-style push deliveries (tags 101 and 206)".into(),
        }
    }

    fn verify_webhook(d: Delivery) -> Result<(), PluginError> {
        let (key, secret) = credentials()?;
        douyin_push::verify(&key, &secret, header(&d, "event-sign"), &d.body).map_err(to_error)
    }

    fn parse_webhook(d: Delivery) -> Result<Parsed, PluginError> {
        let events = douyin_push::parse(&d.body).map_err(to_error)?;
        let events = events
            .into_iter()
            .map(|e| Event {
                key: e.key,
                body: match e.kind {
                    Kind::Paid {
                        order_id,
                        sub_order_id,
                        item_id,
                        author_id,
                        room_id,
                        units,
                        paid_fen,
                        paid_at,
                    } => EventBody::OrderPaid(OrderPaid {
                        platform_order_id: order_id,
                        sub_order_id,
                        item_id,
                        account_id: author_id,
                        room_id,
                        units,
                        paid_fen,
                        commission_bp: None,
                        paid_at,
                    }),
                    Kind::Refunded {
                        order_id,
                        sub_order_id,
                        refund_id,
                        refunded_fen,
                        refunded_at,
                    } => EventBody::OrderRefunded(OrderRefunded {
                        platform_order_id: order_id,
                        sub_order_id,
                        refund_id,
                        refunded_fen,
                        refunded_at,
                    }),
                },
            })
            .collect();
        Ok(Parsed {
            events,
            reply: Reply {
                status: 200,
                content_type: "application/json".into(),
                body: douyin_push::REPLY.as_bytes().to_vec(),
            },
        })
    }

    fn poll(_cursor: Option<String>) -> Result<PollResult, PluginError> {
        Ok(PollResult {
            events: Vec::new(),
            next_cursor: None,
        })
    }
}

kolhost_plugin_sdk::export_platform!(ExamplePlatform);
