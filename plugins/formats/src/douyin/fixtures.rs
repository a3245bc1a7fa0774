//! Douyin deliveries and API answers for tests, and the check a mock open API makes.

use super::api::{self, METHOD, SignMethod};
use super::push::event_sign;
use crate::ct_eq;
use crate::fixtures::{SampleOrder, SignedDelivery};
use crate::json::canonical;
use crate::time::format_gmt8;
use crate::urlenc::parse_pairs;
use serde_json::{Value, json};

/// A tag-101 message for `o` with the fields kolhost's own fixtures carried before 0.2.0
/// (`product_id`, `author_id`, `room_id`, `item_num` besides the public ones). Douyin does not
/// send those; the bundled plugin ignores them (a notice), the 0.1.0 test plugin reads them.
pub fn paid_message(msg_id: &str, o: &SampleOrder) -> Value {
    let data = json!({
        "p_id": o.order_id.parse::<u64>().map(Value::from).unwrap_or_else(|_| json!(o.order_id)),
        "s_ids": [o.sub_order_id.parse::<u64>().map(Value::from).unwrap_or_else(|_| json!(o.sub_order_id))],
        "shop_id": 4_463_798,
        "order_status": 2,
        "order_type": 0,
        "biz": 2,
        "pay_type": 1,
        "pay_amount": o.paid_fen,
        "pay_time": o.paid_at,
        "product_id": o.item_id,
        "author_id": o.account_id,
        "room_id": o.room_id,
        "item_num": o.units,
    });
    json!({"tag": "101", "msg_id": msg_id, "data": data.to_string()})
}

/// A tag-101 (order paid) message for `o` with exactly the fields of Douyin's public push:
/// `data` carries only `biz`, `order_status`, `order_type`, `p_id`, `pay_amount`, `pay_time`,
/// `pay_type`, `s_ids` and `shop_id`; no product, author, room or units (so it parses to an
/// `order-notice` of the order, its sub-order, amount and time).
pub fn public_paid_message(msg_id: &str, o: &SampleOrder) -> Value {
    let data = json!({
        "biz": 2,
        "order_status": 2,
        "order_type": 0,
        "p_id": o.order_id.parse::<u64>().map(Value::from).unwrap_or_else(|_| json!(o.order_id)),
        "pay_amount": o.paid_fen,
        "pay_time": o.paid_at,
        "pay_type": 1,
        "s_ids": [o.sub_order_id.parse::<u64>().map(Value::from).unwrap_or_else(|_| json!(o.sub_order_id))],
        "shop_id": 4_463_798,
    });
    json!({"tag": "101", "msg_id": msg_id, "data": data.to_string()})
}

/// A realistic push delivery, for benchmarks and for tests that need one valid delivery: a
/// JSON array of two messages, [`public_paid_message`] for `SampleOrder::new(0)` (`msg_id`
/// `7301`) and a refund of 99 yuan of it a day later (tag 206, `msg_id` `7302`, aftersale
/// `6987654321`), signed with md5 for `app_key` / `app_secret` (headers `content-type`,
/// `app-id`, `event-sign`). It parses to an `order-notice` and an `order-refunded`.
pub fn sample_delivery(app_key: &str, app_secret: &str) -> SignedDelivery {
    let o = SampleOrder::new(0);
    delivery(
        app_key,
        app_secret,
        &[
            public_paid_message("7301", &o),
            refund_message("7302", &o, "6987654321", 9_900, o.paid_at + 86_400),
        ],
    )
}

/// A tag-206 (refund succeeded) message for `o`, with the fields of Douyin's public push:
/// `aftersale_id`, `aftersale_status`, `aftersale_type`, `p_id`, `reason_code`, `refund_amount`,
/// `refund_post_amount`, `refund_voucher_num`, `s_id`, `shop_id`, `success_time` and
/// `update_time` (both `at`, Unix seconds).
pub fn refund_message(
    msg_id: &str,
    o: &SampleOrder,
    aftersale_id: &str,
    refund_fen: i64,
    at: i64,
) -> Value {
    let data = json!({
        "aftersale_id": aftersale_id.parse::<u64>().map(Value::from).unwrap_or_else(|_| json!(aftersale_id)),
        "aftersale_status": 12,
        "aftersale_type": 2,
        "p_id": o.order_id.parse::<u64>().map(Value::from).unwrap_or_else(|_| json!(o.order_id)),
        "reason_code": 1,
        "refund_amount": refund_fen,
        "refund_post_amount": 0,
        "refund_voucher_num": 0,
        "s_id": o.sub_order_id.parse::<u64>().map(Value::from).unwrap_or_else(|_| json!(o.sub_order_id)),
        "shop_id": 4_463_798,
        "success_time": at,
        "update_time": at,
    });
    json!({"tag": "206", "msg_id": msg_id, "data": data.to_string()})
}

/// A status message of another order tag (100-110) or after-sale tag (200-208) for `o` at
/// `at` (Unix seconds): e.g. `"102"` shipped, `"103"` completed, `"200"` after-sale applied.
pub fn status_message(msg_id: &str, tag: &str, o: &SampleOrder, at: i64) -> Value {
    let p_id = o
        .order_id
        .parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| json!(o.order_id));
    let s_id = o
        .sub_order_id
        .parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| json!(o.sub_order_id));
    let data = if tag.starts_with('2') {
        json!({"aftersale_id": 7_000_000_001u64, "aftersale_status": 6, "aftersale_type": 2,
            "p_id": p_id, "s_id": s_id, "shop_id": 4_463_798, "apply_time": at, "update_time": at})
    } else {
        json!({"biz": 2, "order_status": 3, "order_type": 0, "p_id": p_id, "s_ids": [s_id],
            "shop_id": 4_463_798, "update_time": at})
    };
    json!({"tag": tag, "msg_id": msg_id, "data": data.to_string()})
}

/// A message of a tag kolhost does not follow (e.g. `"400"`, product changed), which is
/// acknowledged and ignored.
pub fn other_message(msg_id: &str, tag: &str) -> Value {
    json!({"tag": tag, "msg_id": msg_id, "data": r#"{"product_id":1,"shop_id":2}"#})
}

/// The delivery of `messages`, signed with md5 for `app_key` / `app_secret`.
pub fn delivery(app_key: &str, app_secret: &str, messages: &[Value]) -> SignedDelivery {
    let body = Value::Array(messages.to_vec()).to_string().into_bytes();
    signed(app_key, app_secret, body)
}

/// Any body, signed with md5 (e.g. a truncated JSON, correctly signed).
pub fn signed(app_key: &str, app_secret: &str, body: Vec<u8>) -> SignedDelivery {
    let sign = event_sign(app_key, app_secret, &body, false);
    SignedDelivery {
        method: "POST".into(),
        query: String::new(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("app-id".into(), app_key.into()),
            ("event-sign".into(), sign),
        ],
        body,
    }
}

/// One `buyin.instituteOrderMCN` order of `o` at `flow_point`, its status change at `at`.
pub fn mcn_order(o: &SampleOrder, flow_point: &str, at: i64) -> Value {
    let at_s = format_gmt8(at);
    json!({
        "order_id": o.order_id,
        "product_id": o.item_id,
        "product_name": "sample product",
        "author_account": "sample author",
        "author_buyin_id": o.account_id,
        "author_short_id": "sample",
        "shop_id": 4_463_798,
        "shop_name": "sample shop",
        "total_pay_amount": o.paid_fen,
        "pay_goods_amount": o.paid_fen,
        "commission_rate": o.commission_bp,
        "estimated_commission": o.commission_fen(),
        "real_commission": if flow_point == "SETTLE" { o.commission_fen() } else { 0 },
        "settled_goods_amount": if flow_point == "SETTLE" { o.paid_fen } else { 0 },
        "tech_service_fee_rate": 100,
        "estimated_tech_service_fee": o.paid_fen / 100,
        "settled_tech_service_fee": if flow_point == "SETTLE" { o.paid_fen / 100 } else { 0 },
        "flow_point": flow_point,
        "app": "抖音",
        "pay_success_time": format_gmt8(o.paid_at),
        "update_time": at_s,
        "settle_time": if flow_point == "SETTLE" { at_s.clone() } else { String::new() },
        "refund_time": if flow_point == "REFUND" { at_s.clone() } else { String::new() },
        "item_num": o.units,
        "media_type": "live",
        "media_id": o.room_id.parse::<u64>().unwrap_or(0),
        "pid_info": {"pid": "", "external_info": "", "media_type_name": "Live"},
    })
}

/// A successful answer with `orders` and the next `cursor`.
pub fn order_page_response(orders: &[Value], cursor: &str) -> Vec<u8> {
    json!({
        "code": 10000,
        "msg": "success",
        "sub_code": "",
        "sub_msg": "",
        "log_id": "20240520140000010203040506",
        "data": {"orders": orders, "cursor": cursor},
    })
    .to_string()
    .into_bytes()
}

/// An error answer, e.g. `(40004, "isv.parameter-invalid:1036", "无效时间区间")`.
pub fn error_response(code: i64, sub_code: &str, sub_msg: &str) -> Vec<u8> {
    json!({"code": code, "msg": "非法的参数", "sub_code": sub_code, "sub_msg": sub_msg, "data": null})
        .to_string()
        .into_bytes()
}

/// What a mock open API checks of a pull: the query (`app_key`, `method`, `v=2`,
/// `timestamp`, `sign_method`, `sign`, optional `access_token`) and the body (`param_json`).
/// Answers the parsed `param_json` (e.g. to read `cursor`), or why the request is refused.
pub fn verify_api_request(
    app_key: &str,
    app_secret: &str,
    query: &str,
    body: &[u8],
) -> Result<Value, String> {
    let pairs = parse_pairs(query).map_err(|e| e.to_string())?;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| format!("query parameter `{k}` is missing"))
    };
    if get("app_key")? != app_key {
        return Err("app_key is not this app's".into());
    }
    if get("method")? != METHOD {
        return Err(format!("method is not {METHOD}"));
    }
    if get("v")? != "2" {
        return Err("v is not 2".into());
    }
    let sign_method = SignMethod::parse(get("sign_method")?).map_err(|e| e.to_string())?;
    let timestamp = get("timestamp")?;
    timestamp
        .parse::<i64>()
        .map_err(|_| "timestamp is not Unix seconds".to_string())?;
    let param_json = std::str::from_utf8(body).map_err(|_| "body is not UTF-8".to_string())?;
    let parsed: Value = serde_json::from_str(param_json).map_err(|e| format!("param_json: {e}"))?;
    if canonical(&parsed) != param_json {
        return Err("param_json is not compact with sorted keys".into());
    }
    let want = api::sign(
        app_key,
        app_secret,
        METHOD,
        param_json,
        timestamp,
        sign_method,
    );
    if !ct_eq(want.as_bytes(), get("sign")?.as_bytes()) {
        return Err("sign does not match".into());
    }
    Ok(parsed)
}
