//! kolhost's Taobao platform plugin: TMC messages consumed over their channel in `poll`
//! (`taobao.tmc.messages.consume`, confirmed by `taobao.tmc.messages.confirm` once the host has
//! committed them) and the Taobao Union order pull (`taobao.tbk.sc.order.details.get`, or
//! `taobao.tbk.order.details.get` without a session), with `taobao.tbk.relation.refund` for
//! refunds of settled orders (`refund_tag` 1). The formats are in
//! `kolhost_platform_formats::taobao`; this is the glue to the host.
//!
//! Config: `app_key`, `api_base` (default `https://eco.taobao.com`), `sign_method` (`md5`, the
//! default, `hmac` or `hmac-sha256`), `poll_window_minutes`, `tmc_group` (the TMC group to
//! consume; TMC is consumed only when set, e.g. `default`), `mode` (`tmc_http_relay` accepts TMC
//! messages POSTed by a relay the agency runs itself; without it HTTP deliveries are refused,
//! as Taobao never sends them). Secrets: `app_secret`, `access_token` (the TOP `session`, sent
//! when set).

use kolhost_platform_formats::taobao::{self, SignMethod, api, push, refund, tmc};
use kolhost_platform_glue as glue;
use kolhost_plugin_sdk::host::debug;
use kolhost_plugin_sdk::platform::*;

struct Taobao;

/// The config `mode` that accepts TMC messages over HTTP from an agency's own relay.
const RELAY_MODE: &str = "tmc_http_relay";

fn credentials() -> Result<(String, String), PluginError> {
    Ok((
        glue::required("app_key")?,
        glue::required_secret("app_secret")?,
    ))
}

fn relay_mode() -> Result<(), PluginError> {
    match glue::value("mode") {
        Some(m) if m == RELAY_MODE => Ok(()),
        _ => Err(PluginError::Unauthorized(format!(
            "Taobao delivers TMC messages over its message channel, not by HTTP; set config \
             `mode` to `{RELAY_MODE}` to accept an agency relay's deliveries"
        ))),
    }
}

fn sign_method() -> Result<SignMethod, PluginError> {
    match glue::value("sign_method") {
        Some(m) => SignMethod::parse(&m).map_err(glue::to_error),
        None => Ok(SignMethod::Md5),
    }
}

impl Platform for Taobao {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "taobao".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            platform: "taobao".into(),
            description: "Taobao: TMC messages (consume and confirm) and Taobao Union orders"
                .into(),
        }
    }

    fn verify_webhook(d: Delivery) -> Result<(), PluginError> {
        let (key, secret) = credentials()?;
        relay_mode()?;
        push::verify(&key, &secret, &d.query, &d.body).map_err(glue::to_error)
    }

    fn parse_webhook(d: Delivery) -> Result<Parsed, PluginError> {
        relay_mode()?;
        push::parse(&d.body)
            .map(glue::parsed)
            .map_err(glue::to_error)
    }

    fn poll(cursor: Option<String>) -> Result<PollResult, PluginError> {
        let (key, secret) = credentials()?;
        let base = glue::api_base(taobao::DEFAULT_API_BASE)?;
        let session = glue::secret("access_token");
        let cursor = glue::cursor(cursor)?;
        let creds = api::Credentials {
            api_base: &base,
            app_key: &key,
            app_secret: &secret,
            session: session.as_deref(),
            sign_method: sign_method()?,
        };
        let now = glue::now_ms().div_euclid(1000);

        // A batch of TMC messages first: their ids are the receipt the host confirms after
        // committing the events.
        let mut events = Vec::new();
        let mut receipt = None;
        if let Some(group) = glue::value("tmc_group") {
            let (status, body) = glue::send(tmc::consume_request(&creds, &group, now))?;
            let batch = tmc::parse_consume(status, &body).map_err(glue::to_error)?;
            debug(&format!(
                "{}: {} messages, {} events",
                tmc::METHOD_CONSUME,
                batch.ids.len(),
                batch.events.len()
            ));
            if !batch.ids.is_empty() {
                receipt = Some(format!("{group}|{}", batch.ids.join(",")));
            }
            events.extend(batch.events.into_iter().map(glue::event));
        }

        let req = api::order_request(&creds, &cursor, now);
        let (status, body) = glue::send(req)?;
        let page = api::parse_order_page(status, &body, creds.method()).map_err(glue::to_error)?;
        // A refund of a settled order (`refund_tag` 1) is only in the relation refund API.
        if refund::page_has_refund_tag(&body) {
            let req = refund::request(&creds, cursor.from_ms.div_euclid(1000), now);
            let (status, body) = glue::send(req)?;
            let refunds = refund::parse(status, &body).map_err(glue::to_error)?;
            debug(&format!("{}: {} refunds", refund::METHOD, refunds.len()));
            events.extend(refunds.into_iter().map(glue::event));
        }
        debug(&format!(
            "{}: {} events, more: {}",
            creds.method(),
            page.events.len(),
            page.next_page.is_some()
        ));
        let mut result = glue::poll_result(&cursor, page);
        events.append(&mut result.events);
        result.events = events;
        result.receipt = receipt;
        Ok(result)
    }

    /// Confirms the TMC messages of a committed page (`<group>|<id>,<id>,...`), 200 at a time.
    fn confirm(receipt: String) -> Result<(), PluginError> {
        let (group, ids) = receipt
            .split_once('|')
            .ok_or_else(|| PluginError::Malformed("the receipt is not group|ids".into()))?;
        let (key, secret) = credentials()?;
        let base = glue::api_base(taobao::DEFAULT_API_BASE)?;
        let session = glue::secret("access_token");
        let creds = api::Credentials {
            api_base: &base,
            app_key: &key,
            app_secret: &secret,
            session: session.as_deref(),
            sign_method: sign_method()?,
        };
        let ids: Vec<&str> = ids.split(',').filter(|i| !i.is_empty()).collect();
        for chunk in ids.chunks(tmc::MAX_CONFIRM) {
            let req = tmc::confirm_request(&creds, group, chunk, glue::now_ms().div_euclid(1000));
            let (status, body) = glue::send(req)?;
            tmc::parse_confirm(status, &body).map_err(glue::to_error)?;
        }
        Ok(())
    }
}

kolhost_plugin_sdk::export_platform!(Taobao);
