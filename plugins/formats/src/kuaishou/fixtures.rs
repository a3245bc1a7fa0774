//! Kuaishou deliveries and API answers for tests, and the check a mock open API makes.

use super::api::{self, METHOD, SignMethod};
use crate::ct_eq;
use crate::fixtures::{SampleOrder, SignedDelivery};
use crate::urlenc::parse_pairs;
use aes::cipher::{BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::Digest;
use serde_json::{Value, json};

/// A deterministic message key for tests: base64 of 32 bytes (sha256 of `seed`), as the
/// console shows one.
pub fn sample_message_key(seed: &str) -> String {
    STANDARD.encode(sha2::Sha256::digest(seed.as_bytes()))
}

/// Encrypts `plain` as Kuaishou does: AES-CBC (key size from the key), zero IV, PKCS#5, base64.
/// Panics on a key that is not base64 of 16, 24 or 32 bytes (fixtures only).
pub fn encrypt(base64_key: &str, plain: &[u8]) -> String {
    let key = STANDARD.decode(base64_key).expect("base64 key");
    let iv = [0u8; 16];
    let ct = match key.len() {
        16 => cbc::Encryptor::<aes::Aes128>::new_from_slices(&key, &iv)
            .unwrap()
            .encrypt_padded_vec_mut::<Pkcs7>(plain),
        24 => cbc::Encryptor::<aes::Aes192>::new_from_slices(&key, &iv)
            .unwrap()
            .encrypt_padded_vec_mut::<Pkcs7>(plain),
        32 => cbc::Encryptor::<aes::Aes256>::new_from_slices(&key, &iv)
            .unwrap()
            .encrypt_padded_vec_mut::<Pkcs7>(plain),
        n => panic!("an AES key has 16, 24 or 32 bytes, not {n}"),
    };
    STANDARD.encode(ct)
}

/// The delivery of one message, encrypted with `base64_key`.
pub fn delivery(base64_key: &str, message: &Value) -> SignedDelivery {
    encrypted(base64_key, message.to_string().as_bytes())
}

/// Any plaintext, encrypted (e.g. a truncated JSON that decrypts fine).
pub fn encrypted(base64_key: &str, plain: &[u8]) -> SignedDelivery {
    SignedDelivery {
        method: "POST".into(),
        query: String::new(),
        headers: vec![("content-type".into(), "text/plain;charset=utf-8".into())],
        body: encrypt(base64_key, plain).into_bytes(),
    }
}

/// A message `{eventId, bizId, userId, openId, appKey, event, info, createTime, test:false}`.
pub fn message(
    app_key: &str,
    event_id: &str,
    event: &str,
    biz_id: &str,
    info: &Value,
    create_ms: i64,
) -> Value {
    json!({
        "eventId": event_id,
        "bizId": biz_id.parse::<u64>().map(Value::from).unwrap_or_else(|_| json!(biz_id)),
        "userId": 12_342_323,
        "openId": "f1b68e8f2a4995ed14bf57245903fd9a",
        "appKey": app_key,
        "event": event,
        "info": info.to_string(),
        "createTime": create_ms,
        "test": false,
    })
}

/// A distribution order message carrying the order view of `o` at `status`.
pub fn order_message(
    app_key: &str,
    event_id: &str,
    o: &SampleOrder,
    status: i64,
    at_ms: i64,
) -> Value {
    message(
        app_key,
        event_id,
        "kwaishop_distribution_cpsOrderStatusChange",
        &o.order_id,
        &order_view(o, status, at_ms),
        at_ms,
    )
}

/// The heartbeat the platform sends to check the URL.
pub fn heartbeat() -> Value {
    json!({"test": true})
}

/// A seller order message `kwaishop_order_paySuccess` (ids and status only: a notice).
pub fn seller_order_message(app_key: &str, event_id: &str, o: &SampleOrder) -> Value {
    message(
        app_key,
        event_id,
        "kwaishop_order_paySuccess",
        &o.order_id,
        &json!({"oid": o.order_id.parse::<u64>().unwrap_or(0), "sellerId": 12_342_323, "status": 30, "updateTime": o.paid_at * 1000}),
        o.paid_at * 1000,
    )
}

/// An after-sale message (`kwaishop_aftersales_addRefund` and the like) of `o`: `orderId`,
/// `refundId`, `handlingWay`, `specialRefundType`, `status`, `updateTime`.
pub fn aftersale_message(
    app_key: &str,
    event_id: &str,
    event: &str,
    o: &SampleOrder,
    refund_id: u64,
    status: i64,
    at_ms: i64,
) -> Value {
    message(
        app_key,
        event_id,
        event,
        &o.order_id,
        &json!({"orderId": o.order_id.parse::<u64>().unwrap_or(0), "refundId": refund_id,
            "handlingWay": 10, "specialRefundType": 0, "status": status, "updateTime": at_ms}),
        at_ms,
    )
}

/// A CPS order view of `o` at `cpsOrderStatus` `status`, updated at `at_ms`.
pub fn order_view(o: &SampleOrder, status: i64, at_ms: i64) -> Value {
    let settled = status == 60;
    json!({
        "oid": o.order_id.parse::<u64>().map(Value::from).unwrap_or_else(|_| json!(o.order_id)),
        "distributorId": o.account_id.parse::<u64>().map(Value::from).unwrap_or_else(|_| json!(o.account_id)),
        "orderCreateTime": o.paid_at * 1000 - 60_000,
        "payTime": o.paid_at * 1000,
        "orderTradeAmount": o.paid_fen,
        "cpsOrderStatus": status,
        "sendTime": 0,
        "recvTime": 0,
        "settlementSuccessTime": if settled { at_ms } else { 0 },
        "settlementAmount": if settled { o.paid_fen } else { 0 },
        "settlementBizType": 1,
        "updateTime": at_ms,
        "createTime": o.paid_at * 1000,
        "cpsOrderProductView": [{
            "itemId": o.item_id.parse::<u64>().map(Value::from).unwrap_or_else(|_| json!(o.item_id)),
            "itemTitle": "sample product",
            "itemPrice": o.paid_fen / i64::from(o.units.max(1)),
            "num": o.units,
            "commissionRate": o.commission_bp / 10,
            "estimatedIncome": o.commission_fen(),
            "sellerId": 12_342_323,
            "sellerNickName": "sample shop",
        }],
    })
}

/// A successful answer with `orders` and the next `pcursor` (`"nomore"` at the end).
pub fn order_page_response(orders: &[Value], pcursor: &str) -> Vec<u8> {
    json!({
        "result": 1,
        "msg": "success",
        "data": {"pcursor": pcursor, "orderView": orders},
        "requestId": "sample-request",
    })
    .to_string()
    .into_bytes()
}

/// An error answer, e.g. `(28, "签名校验失败")`.
pub fn error_response(result: i64, error_msg: &str) -> Vec<u8> {
    json!({"result": result, "error_msg": error_msg, "msg": error_msg, "code": result.to_string()})
        .to_string()
        .into_bytes()
}

/// What a mock open API checks of a pull: `appkey`, `method`, `version=1`, `access_token`,
/// `timestamp` (ms), `signMethod` and `sign` in the query. Answers the parsed `param` (e.g. to
/// read `pcursor`), or why the request is refused.
pub fn verify_api_request(
    app_key: &str,
    sign_secret: &str,
    access_token: &str,
    query: &str,
) -> Result<Value, String> {
    let pairs = parse_pairs(query).map_err(|e| e.to_string())?;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| format!("query parameter `{k}` is missing"))
    };
    if get("appkey")? != app_key {
        return Err("appkey is not this app's".into());
    }
    if get("method")? != METHOD {
        return Err(format!("method is not {METHOD}"));
    }
    if get("version")? != "1" {
        return Err("version is not 1".into());
    }
    if get("access_token")? != access_token {
        return Err("access_token is not the granted one".into());
    }
    get("timestamp")?
        .parse::<i64>()
        .map_err(|_| "timestamp is not Unix milliseconds".to_string())?;
    let method = SignMethod::parse(get("signMethod")?).map_err(|e| e.to_string())?;
    let signed: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(k, _)| k != "sign")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let want = api::sign(&signed, sign_secret, method);
    if !ct_eq(want.as_bytes(), get("sign")?.as_bytes()) {
        return Err("sign does not match".into());
    }
    serde_json::from_str(get("param")?).map_err(|e| format!("param: {e}"))
}
