use super::api::{self, Credentials, SignMethod};
use super::fixtures::*;
use super::push;
use crate::fixtures::SampleOrder;
use crate::{Error, EventBody, PollCursor};

const KEY: &str = "7012345678901234567";
const SECRET: &str = "d1c5a8f2-secret";

#[test]
fn known_answer_event_sign() {
    // md5("ak" + "[]" + "sk"), computed independently (`printf 'ak[]sk' | md5sum`).
    assert_eq!(
        push::event_sign("ak", "sk", b"[]", false),
        "fb3a59bacddf0f6bf36bbe1b49fb02dc"
    );
}

#[test]
fn valid_delivery_verifies_and_parses() {
    let o = SampleOrder::new(1);
    let d = delivery(
        KEY,
        SECRET,
        &[
            public_paid_message("7301", &o),
            refund_message("7302", &o, "6987654321", 9_900, o.paid_at + 86_400),
            other_message("7303", "400"),
            status_message("7304", "102", &o, o.paid_at + 3_600),
            status_message("7305", "200", &o, o.paid_at + 7_200),
        ],
    );
    push::verify(KEY, SECRET, &d.headers, &d.body).unwrap();
    let parsed = push::parse(&d.body).unwrap();
    assert_eq!(parsed.reply.body, r#"{"code":0,"msg":"success"}"#);
    assert_eq!(parsed.events.len(), 4, "tag 400 is acknowledged, no event");
    assert_eq!(parsed.events[0].key, "7301");
    assert_eq!(parsed.events[0].platform_status.as_deref(), Some("101"));
    match &parsed.events[0].body {
        EventBody::OrderNotice(n) => {
            assert_eq!(n.platform_order_id, o.order_id);
            assert_eq!(n.sub_order_ids, [o.sub_order_id.clone()]);
            assert_eq!(n.paid_fen, Some(29_900));
            assert_eq!(n.paid_at.as_deref(), Some("2024-05-20T06:00:00Z"));
        }
        other => panic!("{other:?}"),
    }
    match &parsed.events[1].body {
        EventBody::OrderRefunded(r) => {
            assert_eq!(r.refund_id.as_deref(), Some("6987654321"));
            assert_eq!(r.sub_order_id.as_deref(), Some(o.sub_order_id.as_str()));
            assert_eq!(r.refunded_fen, 9_900);
            assert_eq!(r.refunded_at, "2024-05-21T06:00:00Z", "success_time");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(parsed.events[1].platform_status.as_deref(), Some("206"));
    match (&parsed.events[2].body, &parsed.events[3].body) {
        (EventBody::OrderStatus(shipped), EventBody::OrderStatus(aftersale)) => {
            assert_eq!(shipped.platform_order_id, o.order_id);
            assert_eq!(shipped.at.as_deref(), Some("2024-05-20T07:00:00Z"));
            assert_eq!(
                aftersale.sub_order_id.as_deref(),
                Some(o.sub_order_id.as_str())
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(parsed.events[2].platform_status.as_deref(), Some("102"));
    assert_eq!(parsed.events[3].platform_status.as_deref(), Some("200"));
    // A repeat of the delivery gives the same keys.
    let again = push::parse(&d.body).unwrap();
    assert_eq!(again.events, parsed.events);
}

#[test]
fn every_order_and_aftersale_tag_gives_its_event() {
    let o = SampleOrder::new(2);
    for tag in push::ORDER_TAGS.iter().chain(push::AFTERSALE_TAGS.iter()) {
        let m = match *tag {
            "101" => public_paid_message("1", &o),
            "206" => refund_message("1", &o, "55", 100, o.paid_at + 60),
            t => status_message("1", t, &o, o.paid_at + 60),
        };
        let d = delivery(KEY, SECRET, &[m]);
        let parsed = push::parse(&d.body).unwrap();
        assert_eq!(parsed.events.len(), 1, "tag {tag}");
        assert_eq!(parsed.events[0].platform_status.as_deref(), Some(*tag));
    }
}

#[test]
fn refund_message_has_exactly_the_pushed_fields() {
    let o = SampleOrder::new(9);
    let m = refund_message("1", &o, "6987654321", 100, o.paid_at);
    let data: serde_json::Value = serde_json::from_str(m["data"].as_str().unwrap()).unwrap();
    let keys: Vec<&str> = data
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "aftersale_id",
            "aftersale_status",
            "aftersale_type",
            "p_id",
            "reason_code",
            "refund_amount",
            "refund_post_amount",
            "refund_voucher_num",
            "s_id",
            "shop_id",
            "success_time",
            "update_time"
        ]
    );
}

#[test]
fn public_paid_message_has_exactly_the_pushed_fields() {
    let o = SampleOrder::new(9);
    let m = public_paid_message("1", &o);
    let data: serde_json::Value = serde_json::from_str(m["data"].as_str().unwrap()).unwrap();
    let keys: Vec<&str> = data
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "biz",
            "order_status",
            "order_type",
            "p_id",
            "pay_amount",
            "pay_time",
            "pay_type",
            "s_ids",
            "shop_id"
        ]
    );
    assert_eq!(data["p_id"].to_string(), o.order_id, "ids are JSON numbers");
    assert_eq!(data["s_ids"][0].to_string(), o.sub_order_id);
}

#[test]
fn sample_delivery_is_a_signed_array_of_string_data_messages() {
    let d = sample_delivery(KEY, SECRET);
    assert_eq!(d.method, "POST");
    push::verify(KEY, SECRET, &d.headers, &d.body).unwrap();
    assert!(push::verify(KEY, "another-secret", &d.headers, &d.body).is_err());
    assert_eq!(
        crate::header(&d.headers, "event-sign"),
        Some(push::event_sign(KEY, SECRET, &d.body, false).as_str())
    );
    let messages: Vec<serde_json::Value> = serde_json::from_slice(&d.body).unwrap();
    assert_eq!(messages.len(), 2);
    for m in &messages {
        let fields: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(fields, ["data", "msg_id", "tag"]);
        assert!(m["data"].is_string());
    }
    assert_eq!(
        (&messages[0]["tag"], &messages[1]["tag"]),
        (&"101".into(), &"206".into())
    );

    let o = SampleOrder::new(0);
    let parsed = push::parse(&d.body).unwrap();
    assert_eq!(parsed.reply, push::REPLY);
    assert_eq!(parsed.events.len(), 2);
    assert_eq!(parsed.events[0].key, "7301");
    match &parsed.events[0].body {
        EventBody::OrderNotice(n) => {
            assert_eq!(n.platform_order_id, o.order_id);
            assert_eq!(n.sub_order_ids, [o.sub_order_id.clone()]);
            assert_eq!(n.paid_fen, Some(29_900));
            assert_eq!(n.paid_at.as_deref(), Some("2024-05-20T06:00:00Z"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(parsed.events[1].key, "7302");
    match &parsed.events[1].body {
        EventBody::OrderRefunded(r) => {
            assert_eq!(r.platform_order_id, o.order_id);
            assert_eq!(r.refund_id.as_deref(), Some("6987654321"));
            assert_eq!(r.refunded_fen, 9_900);
            assert_eq!(r.refunded_at, "2024-05-21T06:00:00Z");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn hmac_sign_method_is_accepted() {
    let mut d = delivery(KEY, SECRET, &[paid_message("1", &SampleOrder::new(2))]);
    let sign = push::event_sign(KEY, SECRET, &d.body, true);
    d.headers.retain(|(k, _)| k != "event-sign");
    d.headers.push(("event-sign".into(), sign.to_uppercase()));
    assert!(push::verify(KEY, SECRET, &d.headers, &d.body).is_err());
    d.headers.push(("sign-method".into(), "hmac-sha256".into()));
    push::verify(KEY, SECRET, &d.headers, &d.body).unwrap();
}

#[test]
fn tampered_wrong_key_missing_sign_are_unauthorized() {
    let d = delivery(KEY, SECRET, &[paid_message("1", &SampleOrder::new(3))]);
    let mut body = d.body.clone();
    let at = body.len() / 2;
    body[at] ^= 1;
    assert!(matches!(
        push::verify(KEY, SECRET, &d.headers, &body),
        Err(Error::Unauthorized(_))
    ));
    assert!(matches!(
        push::verify(KEY, "another-secret", &d.headers, &d.body),
        Err(Error::Unauthorized(_))
    ));
    let other_app = delivery("other-app", SECRET, &[]);
    assert!(matches!(
        push::verify(KEY, SECRET, &other_app.headers, &other_app.body),
        Err(Error::Unauthorized(m)) if m.contains("app-id")
    ));
    assert!(matches!(
        push::verify(KEY, SECRET, &[], &d.body),
        Err(Error::Unauthorized(m)) if m.contains("missing")
    ));
    let mut bad_hex = d.headers.clone();
    bad_hex.retain(|(k, _)| k != "event-sign");
    bad_hex.push(("event-sign".into(), "zz".into()));
    assert!(push::verify(KEY, SECRET, &bad_hex, &d.body).is_err());
}

#[test]
fn malformed_bodies_are_errors() {
    let o = SampleOrder::new(4);
    let good = delivery(KEY, SECRET, &[paid_message("1", &o)]).body;
    let truncated = &good[..good.len() - 5];
    assert!(matches!(push::parse(truncated), Err(Error::Malformed(_))));
    for body in [
        &b"{}"[..],
        b"[{\"tag\":\"101\",\"msg_id\":\"1\",\"data\":\"{}\"}]",
        b"[{\"tag\":\"101\",\"msg_id\":\"1\",\"data\":\"{\\\"p_id\\\":1,\\\"pay_amount\\\":-5,\\\"pay_time\\\":1}\"}]",
        b"[{\"tag\":\"206\",\"msg_id\":\"1\",\"data\":\"not json\"}]",
        b"[{\"tag\":\"101\",\"data\":\"{}\"}]",
    ] {
        assert!(
            matches!(push::parse(body), Err(Error::Malformed(_))),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    // Unknown tags with any data are fine.
    assert!(
        push::parse(br#"[{"tag":999,"msg_id":"9","data":"x"}]"#)
            .unwrap()
            .events
            .is_empty()
    );
}

fn creds(m: SignMethod) -> Credentials<'static> {
    Credentials {
        api_base: "http://127.0.0.1:9/",
        app_key: KEY,
        app_secret: SECRET,
        access_token: Some("tok en"),
        sign_method: m,
    }
}

#[test]
fn known_answer_api_sign() {
    // md5("s" + "app_keykmethodmparam_json{}timestamp1v2" + "s").
    assert_eq!(
        api::sign("k", "s", "m", "{}", "1", SignMethod::Md5),
        "d7797c049ea61430c617d13d0999023f"
    );
}

#[test]
fn request_is_signed_and_verifiable() {
    for m in [SignMethod::Md5, SignMethod::HmacSha256] {
        let cursor = PollCursor::start(1_716_184_800_000, 3_600_000);
        let req = api::order_request(&creds(m), &cursor, 1_716_184_800);
        assert_eq!(req.method, "POST");
        assert!(
            req.url
                .starts_with("http://127.0.0.1:9/buyin/instituteOrderMCN?app_key=")
        );
        assert!(req.url.contains("access_token=tok%20en"));
        let query = req.url.split_once('?').unwrap().1;
        let params = verify_api_request(KEY, SECRET, query, &req.body).unwrap();
        assert_eq!(params["cursor"], "0");
        assert_eq!(params["start_time"], "2024-05-20 13:00:00");
        assert_eq!(params["end_time"], "2024-05-20 14:00:00");
        assert!(verify_api_request(KEY, "wrong", query, &req.body).is_err());
        let mut tampered = req.body.clone();
        tampered[2] = b'x';
        assert!(verify_api_request(KEY, SECRET, query, &tampered).is_err());
    }
}

#[test]
fn order_pages_map_flow_points() {
    let o = SampleOrder::new(5);
    let at = o.paid_at + 7 * 86_400;
    let cursor = PollCursor::start(1_716_184_800_000, 3_600_000);
    let body = order_page_response(
        &[
            mcn_order(&o, "PAY_SUCC", o.paid_at),
            mcn_order(&SampleOrder::new(6), "SETTLE", at),
            mcn_order(&SampleOrder::new(7), "REFUND", at),
            mcn_order(&SampleOrder::new(8), "SOMETHING_NEW", at),
        ],
        "c2",
    );
    let page = api::parse_order_page(200, &body, &cursor).unwrap();
    assert_eq!(page.next_page.as_deref(), Some("c2"));
    let keys: Vec<&str> = page.events.iter().map(|e| e.key.as_str()).collect();
    let s6 = SampleOrder::new(6).order_id;
    let s7 = SampleOrder::new(7).order_id;
    assert_eq!(
        keys,
        [
            format!("{}:paid", o.order_id),
            format!("{s6}:paid"),
            format!("{s6}:settle"),
            format!("{s7}:paid"),
            format!("{s7}:refund"),
        ]
    );
    match &page.events[0].body {
        EventBody::OrderPaid(p) => {
            assert_eq!(p.commission_bp, Some(2_000));
            assert_eq!(p.room_id.as_deref(), Some(o.room_id.as_str()));
            assert_eq!(p.account_id.as_deref(), Some(o.account_id.as_str()));
            assert_eq!(p.paid_at, "2024-05-20T06:00:00Z");
        }
        other => panic!("{other:?}"),
    }
    match &page.events[2].body {
        EventBody::OrderSettled(s) => {
            assert_eq!(s.settled_fen, 29_900);
            assert_eq!(
                s.commission_fen,
                Some(5_980),
                "real_commission is the commission"
            );
            assert_eq!(
                s.platform_fee_fen,
                Some(299),
                "settled_tech_service_fee is the fee"
            );
            assert_eq!(s.settled_at, "2024-05-27T06:00:00Z");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(page.events[2].platform_status.as_deref(), Some("SETTLE"));
    match &page.events[4].body {
        EventBody::OrderRefunded(r) => assert_eq!(r.refund_id, None, "the MCN order names none"),
        other => panic!("{other:?}"),
    }
    // The same cursor back, or an empty page: done.
    let again = cursor.next("c2".into());
    let last = api::parse_order_page(
        200,
        &order_page_response(&[mcn_order(&o, "PAY_SUCC", at)], "c2"),
        &again,
    )
    .unwrap();
    assert_eq!(last.next_page, None);
    let empty = api::parse_order_page(200, &order_page_response(&[], "c3"), &again).unwrap();
    assert_eq!(empty.next_page, None);
}

#[test]
fn api_errors() {
    let cursor = PollCursor::start(1_716_184_800_000, 3_600_000);
    assert!(matches!(
        api::parse_order_page(200, &error_response(40004, "isv.parameter-invalid:1036", "无效时间区间"), &cursor),
        Err(Error::Upstream(m)) if m.contains("1036")
    ));
    assert!(matches!(
        api::parse_order_page(502, b"bad gateway", &cursor),
        Err(Error::Upstream(m)) if m.contains("502")
    ));
    assert!(matches!(
        api::parse_order_page(200, b"{\"code\":10000,\"data\":{\"orders\":[{}]}}", &cursor),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        api::parse_order_page(200, b"{\"code\":100", &cursor),
        Err(Error::Malformed(_))
    ));
}
