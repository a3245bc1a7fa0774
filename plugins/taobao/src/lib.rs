//! kolhost's Taobao platform plugin: TMC messages pushed over HTTP (TOP-signed) and the Taobao
//! Union order pull (`taobao.tbk.sc.order.details.get`, or `taobao.tbk.order.details.get`
//! without a session). The formats are in `kolhost_platform_formats::taobao`; this is the glue
//! to the host.
//!
//! Config: `app_key`, `api_base` (default `https://eco.taobao.com`), `sign_method` (`md5`, the
//! default, `hmac` or `hmac-sha256`), `poll_window_minutes`. Secrets: `app_secret`,
//! `access_token` (the TOP `session`, sent when set).

use kolhost_platform_formats::taobao::{self, SignMethod, api, push};
use kolhost_platform_glue as glue;
use kolhost_plugin_sdk::host::debug;
use kolhost_plugin_sdk::platform::*;

struct Taobao;

fn credentials() -> Result<(String, String), PluginError> {
    Ok((
        glue::required("app_key")?,
        glue::required_secret("app_secret")?,
    ))
}

impl Platform for Taobao {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "taobao".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            platform: "taobao".into(),
            description: "Taobao: TOP-signed TMC messages and Taobao Union orders".into(),
        }
    }

    fn verify_webhook(d: Delivery) -> Result<(), PluginError> {
        let (key, secret) = credentials()?;
        push::verify(&key, &secret, &d.query, &d.body).map_err(glue::to_error)
    }

    fn parse_webhook(d: Delivery) -> Result<Parsed, PluginError> {
        push::parse(&d.body)
            .map(glue::parsed)
            .map_err(glue::to_error)
    }

    fn poll(cursor: Option<String>) -> Result<PollResult, PluginError> {
        let (key, secret) = credentials()?;
        let base = glue::api_base(taobao::DEFAULT_API_BASE)?;
        let session = glue::secret("access_token");
        let sign_method = match glue::value("sign_method") {
            Some(m) => SignMethod::parse(&m).map_err(glue::to_error)?,
            None => SignMethod::Md5,
        };
        let cursor = glue::cursor(cursor)?;
        let creds = api::Credentials {
            api_base: &base,
            app_key: &key,
            app_secret: &secret,
            session: session.as_deref(),
            sign_method,
        };
        let req = api::order_request(&creds, &cursor, glue::now_ms().div_euclid(1000));
        let (status, body) = glue::send(req)?;
        let page = api::parse_order_page(status, &body, creds.method()).map_err(glue::to_error)?;
        debug(&format!(
            "{}: {} events, more: {}",
            creds.method(),
            page.events.len(),
            page.next_page.is_some()
        ));
        Ok(glue::poll_result(&cursor, page))
    }
}

kolhost_plugin_sdk::export_platform!(Taobao);
