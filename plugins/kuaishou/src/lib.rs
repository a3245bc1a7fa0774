//! kolhost's Kuaishou platform plugin: Kwaixiaodian message push (AES-encrypted bodies) and the
//! distribution CPS order pull (`open.distribution.cps.distributor.order.cursor.list`). The
//! formats are in `kolhost_platform_formats::kuaishou`; this is the glue to the host.
//!
//! Config: `app_key`, `api_base` (default `https://openapi.kwaixiaodian.com`), `sign_method`
//! (`HMAC_SHA256`, the default, or `MD5`), `poll_window_minutes`. Secrets:
//! `message_private_key` (the console's base64 message key, for pushes), `sign_secret` and
//! `access_token` (for the pull).

use kolhost_platform_formats::kuaishou::{self, api, push};
use kolhost_platform_glue as glue;
use kolhost_plugin_sdk::host::debug;
use kolhost_plugin_sdk::platform::*;

struct Kuaishou;

fn push_credentials() -> Result<(String, Vec<u8>), PluginError> {
    let app_key = glue::required("app_key")?;
    let key = push::message_key(&glue::required_secret("message_private_key")?)
        .map_err(glue::to_error)?;
    Ok((app_key, key))
}

impl Platform for Kuaishou {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "kuaishou".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            platform: "kuaishou".into(),
            description: "Kuaishou: encrypted message push and distribution CPS orders".into(),
        }
    }

    fn verify_webhook(d: Delivery) -> Result<(), PluginError> {
        let (app_key, key) = push_credentials()?;
        push::verify(&app_key, &key, &d.body).map_err(glue::to_error)
    }

    fn parse_webhook(d: Delivery) -> Result<Parsed, PluginError> {
        let (app_key, key) = push_credentials()?;
        push::parse(&app_key, &key, &d.body)
            .map(glue::parsed)
            .map_err(glue::to_error)
    }

    fn poll(cursor: Option<String>) -> Result<PollResult, PluginError> {
        let app_key = glue::required("app_key")?;
        let sign_secret = glue::required_secret("sign_secret")?;
        let token = glue::required_secret("access_token")?;
        let base = glue::api_base(kuaishou::DEFAULT_API_BASE)?;
        let sign_method = match glue::value("sign_method") {
            Some(m) => api::SignMethod::parse(&m).map_err(glue::to_error)?,
            None => api::SignMethod::HmacSha256,
        };
        let cursor = glue::cursor(cursor)?;
        let creds = api::Credentials {
            api_base: &base,
            app_key: &app_key,
            sign_secret: &sign_secret,
            access_token: &token,
            sign_method,
        };
        let (status, body) = glue::send(api::order_request(&creds, &cursor, glue::now_ms()))?;
        let page = api::parse_order_page(status, &body).map_err(glue::to_error)?;
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

kolhost_plugin_sdk::export_platform!(Kuaishou);
