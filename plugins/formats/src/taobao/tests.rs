use super::api::{self, Credentials, METHOD_SC, METHOD_SELF};
use super::fixtures::*;
use super::{SignMethod, push, sign};
use crate::fixtures::SampleOrder;
use crate::{Error, EventBody, PollCursor};

const KEY: &str = "12345678";
const SECRET: &str = "helloworld-secret";

#[test]
fn known_answer_signatures() {
    let params = [
        ("method", "m"),
        ("app_key", "k"),
        ("timestamp", "2024-01-01 00:00:00"),
        ("v", "2.0"),
        ("format", "json"),
    ];
    // printf 's' + sorted keyvalue + '{"a":1}' + 's' | md5sum
    assert_eq!(
        sign(&params, br#"{"a":1}"#, "s", SignMethod::Md5),
        "4D92DB5DCCB0377891D28A3EE55FB25F"
    );
    // openssl dgst -md5 -hmac s over the sorted keyvalue string
    assert_eq!(
        sign(&params, b"", "s", SignMethod::HmacMd5),
        "F9226BCEC25C8C529D93E87173DC9F1D"
    );
}

#[test]
fn valid_deliveries_parse() {
    let o = SampleOrder::new(1);
    for m in [SignMethod::Md5, SignMethod::HmacMd5, SignMethod::HmacSha256] {
        let d = delivery(
            KEY,
            SECRET,
            m,
            &[
                buyer_pay(1001, &o),
                refund_success(1002, &o, "88001", 9_900, o.paid_at + 86_400),
                tmc_message(
                    1003,
                    "taobao_trade_TradeSellerShip",
                    &serde_json::json!({"tid": 1}),
                    o.paid_at,
                ),
            ],
            o.paid_at,
        );
        push::verify(KEY, SECRET, &d.query, &d.body).unwrap();
        let p = push::parse(&d.body).unwrap();
        assert_eq!(p.reply.body, r#"{"success":true}"#);
        assert_eq!(p.events.len(), 2);
        assert_eq!(p.events[0].key, "1001");
        match &p.events[0].body {
            EventBody::OrderNotice(e) => {
                assert_eq!(e.platform_order_id, o.order_id);
                assert_eq!(e.sub_order_ids, [o.sub_order_id.clone()]);
                assert_eq!(e.paid_fen, Some(29_900));
                assert_eq!(e.paid_at.as_deref(), Some("2024-05-20T06:00:00Z"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            p.events[0].platform_status.as_deref(),
            Some("taobao_trade_TradeBuyerPay")
        );
        match &p.events[1].body {
            EventBody::OrderRefunded(e) => {
                assert_eq!(e.refund_id.as_deref(), Some("88001"));
                assert_eq!(e.refunded_fen, 9_900);
                assert_eq!(e.refunded_at, "2024-05-21T06:00:00Z");
            }
            other => panic!("{other:?}"),
        }
    }
    // One message alone, without an id: the key is topic:tid:oid:status, stable on repeats.
    let mut m = buyer_pay(1, &o);
    m.as_object_mut().unwrap().remove("id");
    let d = delivery(KEY, SECRET, SignMethod::Md5, &[m], o.paid_at);
    let a = push::parse(&d.body).unwrap();
    assert_eq!(
        a.events[0].key,
        format!(
            "taobao_trade_TradeBuyerPay:{}:{}:WAIT_SELLER_SEND_GOODS",
            o.order_id, o.sub_order_id
        )
    );
    assert_eq!(push::parse(&d.body).unwrap(), a);
}

#[test]
fn tampered_wrong_key_missing_sign() {
    let o = SampleOrder::new(2);
    let d = delivery(KEY, SECRET, SignMethod::Md5, &[buyer_pay(1, &o)], o.paid_at);
    let mut body = d.body.clone();
    body[10] ^= 1;
    assert!(matches!(
        push::verify(KEY, SECRET, &d.query, &body),
        Err(Error::Unauthorized(_))
    ));
    assert!(matches!(
        push::verify(KEY, "other", &d.query, &d.body),
        Err(Error::Unauthorized(_))
    ));
    assert!(
        matches!(push::verify("87654321", SECRET, &d.query, &d.body), Err(Error::Unauthorized(m)) if m.contains("12345678"))
    );
    let no_sign: String = d
        .query
        .split('&')
        .filter(|p| !p.starts_with("sign="))
        .collect::<Vec<_>>()
        .join("&");
    assert!(
        matches!(push::verify(KEY, SECRET, &no_sign, &d.body), Err(Error::Unauthorized(m)) if m.contains("`sign`"))
    );
    let changed_ts = d.query.replace("timestamp=2024", "timestamp=2025");
    assert!(matches!(
        push::verify(KEY, SECRET, &changed_ts, &d.body),
        Err(Error::Unauthorized(_))
    ));
}

#[test]
fn malformed_bodies() {
    let o = SampleOrder::new(3);
    let good = buyer_pay(1, &o).to_string();
    assert!(matches!(
        push::parse(&good.as_bytes()[..good.len() - 4]),
        Err(Error::Malformed(_))
    ));
    let mut bad_amount = buyer_pay(1, &o);
    bad_amount["content"] = serde_json::json!(r#"{"tid":1,"payment":"12.345"}"#);
    assert!(
        matches!(push::parse(bad_amount.to_string().as_bytes()), Err(Error::Malformed(m)) if m.contains("12.345"))
    );
    let mut bad_time = buyer_pay(1, &o);
    bad_time["content"] =
        serde_json::json!(r#"{"tid":1,"payment":"1.00","pay_time":"2024-02-30 00:00:00"}"#);
    assert!(matches!(
        push::parse(bad_time.to_string().as_bytes()),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(push::parse(b"[1,2]"), Err(Error::Malformed(_))));
}

#[test]
fn pull_request_and_pages() {
    for (session, method) in [(Some("sess"), METHOD_SC), (None, METHOD_SELF)] {
        let c = Credentials {
            api_base: "http://127.0.0.1:9/",
            app_key: KEY,
            app_secret: SECRET,
            session,
            sign_method: SignMethod::HmacMd5,
        };
        let cursor = PollCursor::start(1_716_184_800_000, 3_600_000).next("pos-1".into());
        let req = api::order_request(&c, &cursor, 1_716_184_800);
        assert_eq!(req.url, "http://127.0.0.1:9/router/rest");
        let params = verify_api_request(KEY, SECRET, &req.body).unwrap();
        assert_eq!(params["method"], method);
        assert_eq!(params["timestamp"], "2024-05-20 14:00:00");
        assert_eq!(params["start_time"], "2024-05-20 13:00:00");
        assert_eq!(params["position_index"], "pos-1");
        assert_eq!(params["page_no"], "2");
        assert!(verify_api_request(KEY, "wrong", &req.body).is_err());
    }
    let o = SampleOrder::new(4);
    let at = o.paid_at + 20 * 86_400;
    let body = order_page_response(
        METHOD_SC,
        &[
            publisher_order(&o, 12, 0, o.paid_at),
            publisher_order(&SampleOrder::new(5), 3, 0, at),
            publisher_order(&SampleOrder::new(6), 13, 0, at),
            publisher_order(&SampleOrder::new(7), 14, 1, at),
            publisher_order(&SampleOrder::new(8), 99, 0, at),
        ],
        true,
        "pos-2",
        1,
    );
    let page = api::parse_order_page(200, &body, METHOD_SC).unwrap();
    assert_eq!(page.next_page.as_deref(), Some("pos-2"));
    let (t5, t6, t7) = (
        SampleOrder::new(5).sub_order_id,
        SampleOrder::new(6).sub_order_id,
        SampleOrder::new(7).sub_order_id,
    );
    let keys: Vec<String> = page.events.iter().map(|e| e.key.clone()).collect();
    assert_eq!(
        keys,
        [
            format!("{}:paid", o.sub_order_id),
            format!("{t5}:paid"),
            format!("{t5}:settled"),
            format!("{t6}:paid"),
            format!("{t6}:void"),
            format!("{t7}:paid")
        ]
    );
    match &page.events[0].body {
        EventBody::OrderPaid(e) => {
            assert_eq!(e.platform_order_id, o.order_id);
            assert_eq!(e.commission_bp, Some(2_000));
            assert_eq!(e.account_id.as_deref(), Some(o.account_id.as_str()));
            assert_eq!(e.paid_at, "2024-05-20T06:00:00Z");
        }
        other => panic!("{other:?}"),
    }
    match &page.events[2].body {
        EventBody::OrderSettled(e) => {
            assert_eq!(e.settled_fen, 29_900);
            assert_eq!(e.commission_fen, Some(5_980));
            assert_eq!(e.settled_at, "2024-06-09T06:00:00Z");
        }
        other => panic!("{other:?}"),
    }
    let last = api::parse_order_page(
        200,
        &order_page_response(METHOD_SC, &[], false, "", 2),
        METHOD_SC,
    )
    .unwrap();
    assert_eq!(
        last,
        crate::ApiPage {
            events: vec![],
            next_page: None
        }
    );
    assert!(
        matches!(api::parse_order_page(200, &error_response(25, "Invalid signature", "", ""), METHOD_SC), Err(Error::Upstream(m)) if m.contains("Invalid signature"))
    );
    assert!(matches!(
        api::parse_order_page(
            200,
            &order_page_response(METHOD_SELF, &[], false, "", 1),
            METHOD_SC
        ),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        api::parse_order_page(503, b"", METHOD_SC),
        Err(Error::Upstream(_))
    ));
}

#[test]
fn tmc_consume_and_confirm() {
    use super::api::Credentials;
    use super::tmc;
    let o = SampleOrder::new(7);
    let creds = Credentials {
        api_base: "http://127.0.0.1:9",
        app_key: KEY,
        app_secret: SECRET,
        session: None,
        sign_method: SignMethod::Md5,
    };
    let req = tmc::consume_request(&creds, "default", 1_716_184_800);
    let params = verify_api_request(KEY, SECRET, &req.body).unwrap();
    assert!(
        params
            .iter()
            .any(|(k, v)| k == "method" && v == tmc::METHOD_CONSUME)
    );
    assert!(
        params
            .iter()
            .any(|(k, v)| k == "group_name" && v == "default")
    );
    let body = tmc_consume_response(&[
        buyer_pay(501, &o),
        tmc_message(
            502,
            "taobao_trade_TradeSellerShip",
            &serde_json::json!({"tid": 1}),
            o.paid_at,
        ),
    ]);
    let batch = tmc::parse_consume(200, &body).unwrap();
    assert_eq!(batch.ids, ["501", "502"], "every message is confirmed");
    assert_eq!(
        batch.events.len(),
        1,
        "only the followed topics give events"
    );
    assert_eq!(batch.events[0].key, "501");
    let empty = tmc::parse_consume(200, &tmc_consume_response(&[])).unwrap();
    assert!(empty.ids.is_empty());

    let req = tmc::confirm_request(&creds, "default", &["501", "502"], 1_716_184_800);
    let params = verify_api_request(KEY, SECRET, &req.body).unwrap();
    assert!(
        params
            .iter()
            .any(|(k, v)| k == "s_message_ids" && v == "501,502")
    );
    tmc::parse_confirm(200, &tmc_confirm_response()).unwrap();
    assert!(tmc::parse_confirm(200, &error_response(7, "App Call Limited", "", "")).is_err());
}

#[test]
fn relation_refunds_of_settled_orders() {
    use super::api::Credentials;
    use super::refund;
    let o = SampleOrder::new(8);
    let creds = Credentials {
        api_base: "http://127.0.0.1:9",
        app_key: KEY,
        app_secret: SECRET,
        session: Some("s"),
        sign_method: SignMethod::Md5,
    };
    let req = refund::request(&creds, 1_716_184_800, 1_716_184_800);
    let params = verify_api_request(KEY, SECRET, &req.body).unwrap();
    assert!(params["search_option"].contains("\"search_type\":3"));
    let events = refund::parse(
        200,
        &relation_refund_response(&o, 1_234, 5, o.paid_at + 9 * 86_400),
    )
    .unwrap();
    assert_eq!(events.len(), 1);
    match &events[0].body {
        EventBody::OrderRefunded(r) => {
            assert_eq!(r.platform_order_id, o.order_id);
            assert_eq!(r.sub_order_id.as_deref(), Some(o.sub_order_id.as_str()));
            assert_eq!((r.refunded_fen, r.refund_id.as_deref()), (1_234, None));
        }
        other => panic!("{other:?}"),
    }
    // Created or failed rights protection: nothing refunded.
    assert!(
        refund::parse(200, &relation_refund_response(&o, 1, 6, o.paid_at))
            .unwrap()
            .is_empty()
    );
    let page = order_page_response(
        super::api::METHOD_SC,
        &[publisher_order(&o, 3, 1, o.paid_at)],
        false,
        "",
        1,
    );
    assert!(refund::page_has_refund_tag(&page));
    let page = order_page_response(
        super::api::METHOD_SC,
        &[publisher_order(&o, 3, 0, o.paid_at)],
        false,
        "",
        1,
    );
    assert!(!refund::page_has_refund_tag(&page));
}
