//! kolhost's Douyin platform plugin: Doudian push deliveries (`event-sign`) and the Buyin MCN
//! order pull (`buyin.instituteOrderMCN`). The formats are in
//! `kolhost_platform_formats::douyin`; this is the glue to the host.
//!
//! Config: `app_key`, `api_base` (default `https://openapi-fxg.jinritemai.com`), `sign_method`
//! (`md5`, the default, or `hmac-sha256`), `poll_window_minutes`. Secrets: `app_secret`,
//! `access_token` (the MCN's Buyin authorisation, sent when set).

use kolhost_platform_formats::douyin::{self, api, push};
use kolhost_platform_glue as glue;
use kolhost_plugin_sdk::host::debug;
use kolhost_plugin_sdk::platform::*;

struct Douyin;

fn credentials() -> Result<(String, String), PluginError> {
    Ok((
        glue::required("app_key")?,
        glue::required_secret("app_secret")?,
    ))
}

impl Platform for Douyin {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "douyin".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            platform: "douyin".into(),
            description: "Douyin: Doudian push (event-sign) and Buyin MCN alliance orders".into(),
        }
    }

    fn verify_webhook(d: Delivery) -> Result<(), PluginError> {
        let (key, secret) = credentials()?;
        push::verify(&key, &secret, &d.headers, &d.body).map_err(glue::to_error)
    }

    fn parse_webhook(d: Delivery) -> Result<Parsed, PluginError> {
        push::parse(&d.body)
            .map(glue::parsed)
            .map_err(glue::to_error)
    }

    fn poll(cursor: Option<String>) -> Result<PollResult, PluginError> {
        let (key, secret) = credentials()?;
        let base = glue::api_base(douyin::DEFAULT_API_BASE)?;
        let token = glue::secret("access_token");
        let sign_method = match glue::value("sign_method") {
            Some(m) => api::SignMethod::parse(&m).map_err(glue::to_error)?,
            None => api::SignMethod::Md5,
        };
        let cursor = glue::cursor(cursor)?;
        let creds = api::Credentials {
            api_base: &base,
            app_key: &key,
            app_secret: &secret,
            access_token: token.as_deref(),
            sign_method,
        };
        let req = api::order_request(&creds, &cursor, glue::now_ms().div_euclid(1000));
        let (status, body) = glue::send(req)?;
        let page = api::parse_order_page(status, &body, &cursor).map_err(glue::to_error)?;
        debug(&format!(
            "{}: {} events, more: {}",
            api::METHOD,
            page.events.len(),
            page.next_page.is_some()
        ));
        Ok(glue::poll_result(&cursor, page))
    }

    fn confirm(_receipt: String) -> Result<(), PluginError> {
        Ok(())
    }
}

kolhost_plugin_sdk::export_platform!(Douyin);
