//! A platform plugin for `kolhost:plugin@0.1.0`, generated straight from the frozen
//! `wit/since_v0.1.0/` (not through the SDK, which follows the newest version): what a plugin
//! uploaded before 0.2.0 looks like. The host must still load it and serve its calls through
//! its 0.1.0 adapter.
//!
//! It verifies Douyin pushes (`event-sign`, with `app_key` / `app_secret` from its config) and
//! parses them the 0.1.0 way: a tag-101 message with `product_id`, `author_id`, `room_id` and
//! `item_num` is an `order-paid`, a tag-206 message an `order-refunded` (refund id
//! `aftersale_id`, at `update_time`); other tags give nothing. `poll` returns nothing.

wit_bindgen::generate!({
    path: "../../wit/since_v0.1.0",
    world: "kolhost:plugin/platform@0.1.0",
    generate_all,
});

use exports::kolhost::plugin::platform_api::Guest;
use kolhost::plugin::config;
use kolhost::plugin::platform_types::*;
use kolhost::plugin::types::{PluginError, PluginInfo};
use kolhost_platform_formats::douyin::push;
use serde_json::Value;

struct Legacy;

fn credentials() -> Result<(String, String), PluginError> {
    let key =
        config::get("app_key").ok_or_else(|| PluginError::Config("app_key is not set".into()))?;
    let secret = config::get_secret("app_secret")
        .ok_or_else(|| PluginError::Config("secret app_secret is not set".into()))?;
    Ok((key, secret))
}

fn id(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn fen(v: &Value, field: &str) -> Result<i64, PluginError> {
    v.as_i64()
        .filter(|f| *f >= 0)
        .ok_or_else(|| PluginError::Malformed(format!("{field} is not an amount in fen")))
}

fn time(v: &Value) -> Result<String, PluginError> {
    let secs = v
        .as_i64()
        .ok_or_else(|| PluginError::Malformed("a time is not Unix seconds".into()))?;
    kolhost_platform_formats::time::rfc3339_from_unix(secs)
        .map_err(|e| PluginError::Malformed(format!("{e:?}")))
}

impl Guest for Legacy {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "legacy-v010".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            platform: "douyin".into(),
            description: "A kolhost:plugin@0.1.0 component (Douyin pushes, the 0.1.0 way)".into(),
        }
    }

    fn verify_webhook(d: Delivery) -> Result<(), PluginError> {
        let (key, secret) = credentials()?;
        push::verify(&key, &secret, &d.headers, &d.body)
            .map_err(|e| PluginError::Unauthorized(format!("{e:?}")))
    }

    fn parse_webhook(d: Delivery) -> Result<Parsed, PluginError> {
        let messages: Vec<Value> = serde_json::from_slice(&d.body)
            .map_err(|e| PluginError::Malformed(format!("body: {e}")))?;
        let mut events = Vec::new();
        for m in messages {
            let tag = id(&m["tag"]).unwrap_or_default();
            let key = id(&m["msg_id"]).ok_or_else(|| PluginError::Malformed("no msg_id".into()))?;
            let data: Value = serde_json::from_str(m["data"].as_str().unwrap_or("null"))
                .map_err(|e| PluginError::Malformed(format!("data: {e}")))?;
            let order =
                id(&data["p_id"]).ok_or_else(|| PluginError::Malformed("no p_id".into()))?;
            let body = match tag.as_str() {
                "101" => EventBody::OrderPaid(OrderPaid {
                    platform_order_id: order,
                    sub_order_id: data["s_ids"].get(0).and_then(id),
                    item_id: id(&data["product_id"]).unwrap_or_default(),
                    account_id: id(&data["author_id"]),
                    room_id: id(&data["room_id"]),
                    units: data["item_num"].as_u64().unwrap_or(1) as u32,
                    paid_fen: fen(&data["pay_amount"], "pay_amount")?,
                    commission_bp: None,
                    paid_at: time(&data["pay_time"])?,
                }),
                "206" => EventBody::OrderRefunded(OrderRefunded {
                    platform_order_id: order,
                    sub_order_id: id(&data["s_id"]),
                    refund_id: id(&data["aftersale_id"]).unwrap_or_default(),
                    refunded_fen: fen(&data["refund_amount"], "refund_amount")?,
                    refunded_at: time(&data["update_time"])?,
                }),
                _ => continue,
            };
            events.push(Event { key, body });
        }
        Ok(Parsed {
            events,
            reply: Reply {
                status: 200,
                content_type: "application/json".into(),
                body: br#"{"code":0,"msg":"success"}"#.to_vec(),
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

export!(Legacy);
