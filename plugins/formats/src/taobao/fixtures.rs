//! Taobao deliveries and API answers for tests, and the check a mock TOP gateway makes.

use super::api::{METHOD_SC, METHOD_SELF};
use super::push::{TOPIC_PAID, TOPIC_REFUND};
use super::sign::{SignMethod, sign};
use crate::ct_eq;
use crate::fixtures::{SampleOrder, SignedDelivery};
use crate::time::format_gmt8;
use crate::urlenc::{encode_pairs, parse_pairs};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// `fen` as a yuan string (`29900` → `"299.00"`).
pub fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// A TMC message.
pub fn tmc_message(id: u64, topic: &str, content: &Value, pub_time: i64) -> Value {
    json!({
        "id": id,
        "topic": topic,
        "content": content.to_string(),
        "pub_time": format_gmt8(pub_time),
        "pub_app_key": "12345678",
        "user_id": 2_161_524_184u64,
        "user_nick": "sample shop",
        "outgoing_time": format_gmt8(pub_time),
    })
}

/// `taobao_trade_TradeBuyerPay` for `o`.
pub fn buyer_pay(id: u64, o: &SampleOrder) -> Value {
    tmc_message(
        id,
        TOPIC_PAID,
        &json!({
            "tid": o.order_id.parse::<u64>().map(Value::from).unwrap_or_else(|_| json!(o.order_id)),
            "oid": o.sub_order_id.parse::<u64>().map(Value::from).unwrap_or_else(|_| json!(o.sub_order_id)),
            "payment": yuan(o.paid_fen),
            "num_iid": o.item_id,
            "num": o.units,
            "pay_time": format_gmt8(o.paid_at),
            "buyer_nick": "buyer",
            "seller_nick": "sample shop",
            "status": "WAIT_SELLER_SEND_GOODS",
            "type": "fixed",
        }),
        o.paid_at,
    )
}

/// `taobao_refund_RefundSuccess` for `o`.
pub fn refund_success(
    id: u64,
    o: &SampleOrder,
    refund_id: &str,
    refund_fen: i64,
    at: i64,
) -> Value {
    tmc_message(
        id,
        TOPIC_REFUND,
        &json!({
            "tid": o.order_id,
            "oid": o.sub_order_id,
            "refund_id": refund_id,
            "refund_fee": yuan(refund_fen),
            "refund_phase": "onsale",
            "bill_type": "refund_bill",
            "modified": format_gmt8(at),
            "buyer_nick": "buyer",
            "seller_nick": "sample shop",
        }),
        at,
    )
}

/// The delivery of `messages` (one object when there is one, else an array), signed at
/// `timestamp` (Unix s) with `sign_method` for `app_key` / `app_secret`.
pub fn delivery(
    app_key: &str,
    app_secret: &str,
    sign_method: SignMethod,
    messages: &[Value],
    timestamp: i64,
) -> SignedDelivery {
    let body = if messages.len() == 1 {
        messages[0].to_string()
    } else {
        Value::Array(messages.to_vec()).to_string()
    };
    signed(
        app_key,
        app_secret,
        sign_method,
        body.into_bytes(),
        timestamp,
    )
}

/// Any body, signed (e.g. a truncated JSON).
pub fn signed(
    app_key: &str,
    app_secret: &str,
    sign_method: SignMethod,
    body: Vec<u8>,
    timestamp: i64,
) -> SignedDelivery {
    let ts = format_gmt8(timestamp);
    let mut params = vec![
        ("app_key", app_key),
        ("timestamp", ts.as_str()),
        ("sign_method", sign_method.as_str()),
    ];
    let s = sign(&params, &body, app_secret, sign_method);
    params.push(("sign", &s));
    SignedDelivery {
        method: "POST".into(),
        query: encode_pairs(params),
        headers: vec![(
            "content-type".into(),
            "application/json;charset=utf-8".into(),
        )],
        body,
    }
}

/// One `publisher_order_dto` of `o` at `tk_status`, changed at `at` (Unix s).
pub fn publisher_order(o: &SampleOrder, tk_status: i64, refund_tag: i64, at: i64) -> Value {
    let settled = tk_status == 3;
    json!({
        "trade_id": o.sub_order_id,
        "trade_parent_id": o.order_id,
        "item_id": o.item_id,
        "item_num": o.units,
        "item_title": "sample product",
        "alipay_total_price": yuan(o.paid_fen),
        "pay_price": yuan(o.paid_fen),
        "tk_status": tk_status,
        "refund_tag": refund_tag,
        "total_commission_rate": format!("{}.{:02}", o.commission_bp / 100, o.commission_bp % 100),
        "total_commission_fee": if settled { yuan(o.commission_fen()) } else { "0.00".into() },
        "pub_share_pre_fee": yuan(o.commission_fen()),
        "tk_create_time": format_gmt8(o.paid_at - 60),
        "tk_paid_time": format_gmt8(o.paid_at),
        "tb_paid_time": format_gmt8(o.paid_at),
        "tk_earning_time": if settled { format_gmt8(at) } else { String::new() },
        "modified_time": format_gmt8(at),
        "relation_id": o.account_id,
        "adzone_id": 109_000_000_001u64,
        "order_type": "天猫",
        "flow_source": "--",
    })
}

/// A successful answer of `method` with `orders`.
pub fn order_page_response(
    method: &str,
    orders: &[Value],
    has_next: bool,
    position_index: &str,
    page_no: u32,
) -> Vec<u8> {
    let name = format!(
        "{}_response",
        method.trim_start_matches("taobao.").replace('.', "_")
    );
    json!({
        name: {
            "data": {
                "has_next": has_next,
                "has_pre": page_no > 1,
                "page_no": page_no,
                "page_size": orders.len(),
                "position_index": position_index,
                "results": {"publisher_order_dto": orders},
            },
            "request_id": "sample-request",
        }
    })
    .to_string()
    .into_bytes()
}

/// An answer of `taobao.tmc.messages.consume` carrying `messages` (see [`tmc_message`]).
pub fn tmc_consume_response(messages: &[Value]) -> Vec<u8> {
    let inner = if messages.is_empty() {
        json!({"request_id": "sample-request"})
    } else {
        json!({"messages": {"tmc_message": messages}, "request_id": "sample-request"})
    };
    json!({"tmc_messages_consume_response": inner})
        .to_string()
        .into_bytes()
}

/// An answer of `taobao.tbk.relation.refund`: `o` refunded `fen` (yuan string) with
/// `refund_status` (5: success after settlement), completed at `at` (Unix s).
pub fn relation_refund_response(o: &SampleOrder, fen: i64, refund_status: i64, at: i64) -> Vec<u8> {
    json!({"tbk_relation_refund_response": {"result": {"data": {
        "page_no": 1, "page_size": 100, "total_count": 1,
        "results": {"result_data": [{
            "tb_trade_parent_id": o.order_id.parse::<u64>().unwrap_or(0),
            "tb_trade_id": o.sub_order_id.parse::<u64>().unwrap_or(0),
            "relation_id": o.account_id.parse::<u64>().unwrap_or(0),
            "refund_fee": yuan(fen),
            "refund_status": refund_status,
            "refund_type": 1,
            "tb_trade_finish_price": yuan(o.paid_fen),
            "tk_refund_suit_time": format_gmt8(at),
            "tk_refund_time": format_gmt8(at - 3_600),
            "earning_time": format_gmt8(o.paid_at + 86_400),
            "tb_trade_create_time": format_gmt8(o.paid_at - 60),
            "modified_time": format_gmt8(at),
        }]}
    }}, "request_id": "sample-request"}})
    .to_string()
    .into_bytes()
}

/// A successful answer of `taobao.tmc.messages.confirm`.
pub fn tmc_confirm_response() -> Vec<u8> {
    json!({"tmc_messages_confirm_response": {"is_success": true, "request_id": "sample-request"}})
        .to_string()
        .into_bytes()
}

/// A TOP error answer, e.g. `(25, "Invalid signature", "", "")`.
pub fn error_response(code: i64, msg: &str, sub_code: &str, sub_msg: &str) -> Vec<u8> {
    json!({"error_response": {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg, "request_id": "sample-request"}})
        .to_string()
        .into_bytes()
}

/// What a mock TOP gateway checks of a pull (a form body): `app_key`, `method` (either order
/// details API, the `sc` one needs `session`, or a TMC consume / confirm), `v=2.0`, `timestamp`, `sign_method`, `sign`.
/// Answers every parameter (e.g. to read `position_index`), or why the request is refused.
pub fn verify_api_request(
    app_key: &str,
    app_secret: &str,
    form_body: &[u8],
) -> Result<BTreeMap<String, String>, String> {
    let body = std::str::from_utf8(form_body).map_err(|_| "body is not UTF-8".to_string())?;
    let pairs = parse_pairs(body).map_err(|e| e.to_string())?;
    let map: BTreeMap<String, String> = pairs.iter().cloned().collect();
    let get = |k: &str| {
        map.get(k)
            .map(String::as_str)
            .ok_or_else(|| format!("parameter `{k}` is missing"))
    };
    if get("app_key")? != app_key {
        return Err("app_key is not this app's".into());
    }
    match get("method")? {
        METHOD_SC => {
            get("session")?;
        }
        METHOD_SELF
        | super::tmc::METHOD_CONSUME
        | super::tmc::METHOD_CONFIRM
        | super::refund::METHOD => {}
        other => return Err(format!("method {other} is not an order details or TMC API")),
    }
    if get("v")? != "2.0" {
        return Err("v is not 2.0".into());
    }
    crate::time::parse_gmt8(get("timestamp")?).map_err(|e| e.to_string())?;
    let method = SignMethod::parse(get("sign_method")?).map_err(|e| e.to_string())?;
    let params: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(k, _)| k != "sign")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let want = sign(&params, b"", app_secret, method);
    if !ct_eq(want.as_bytes(), get("sign")?.as_bytes()) {
        return Err("sign does not match".into());
    }
    Ok(map)
}
