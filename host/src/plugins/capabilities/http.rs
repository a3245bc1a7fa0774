//! `kolhost:plugin/http`: outbound HTTP that the host performs, only to the hosts the
//! plugin's manifest allow-lists, with a timeout (within the call's deadline), no redirects
//! (a redirect could leave the allow-list) and a response-size cap. The host resolves the name
//! itself and refuses private addresses unless the plugin may reach them (see
//! [`super::hosts`]); `Host` is the URL's, whatever the plugin sends.

use super::hosts::{GuardedResolver, is_private};
use crate::plugins::bindings::platform::kolhost::plugin::http::{
    self, HttpError, Request, Response,
};
use crate::plugins::bindings::v0_1::platform::kolhost::plugin::http as v1;
use crate::plugins::state::HostState;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{HasSelf, Linker};

/// Outbound HTTP settings of one plugin.
#[derive(Debug, Clone)]
pub struct HttpCapability {
    client: reqwest::Client,
    /// `host` (any port) or `host:port`, lower-case.
    allowed_hosts: Vec<String>,
    /// Whether private addresses may be reached (`allow_private_hosts`, set by an admin).
    allow_private: bool,
    pub max_response_bytes: usize,
    pub max_timeout: Duration,
    pub max_request_bytes: usize,
}

/// Defaults: 1 MiB responses, 10 s, 1 MiB requests.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1 << 20;
pub const DEFAULT_MAX_TIMEOUT: Duration = Duration::from_secs(10);

impl HttpCapability {
    /// `client` should not follow redirects and should resolve through a [`GuardedResolver`]
    /// with the same `allow_private` (see [`HttpCapability::client`]).
    pub fn new(
        client: reqwest::Client,
        allowed_hosts: &[String],
        allow_private: bool,
    ) -> HttpCapability {
        HttpCapability {
            client,
            allow_private,
            allowed_hosts: allowed_hosts
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_timeout: DEFAULT_MAX_TIMEOUT,
            max_request_bytes: 1 << 20,
        }
    }

    /// A client the runtime shares between plugins: rustls, no redirects, names resolved by
    /// `resolver`.
    pub fn client(resolver: GuardedResolver) -> reqwest::Result<reqwest::Client> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(resolver))
            .build()
    }

    /// Is this URL's host allow-listed?
    pub fn allows(&self, url: &reqwest::Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        let with_port = url.port_or_known_default().map(|p| format!("{host}:{p}"));
        self.allowed_hosts
            .iter()
            .any(|a| *a == host || Some(a) == with_port.as_ref())
    }

    /// Performs the request, within `remaining` of the call's deadline.
    pub async fn send(&self, req: Request, remaining: Duration) -> Result<Response, HttpError> {
        let url = reqwest::Url::parse(&req.url)
            .map_err(|e| HttpError::InvalidRequest(format!("url: {e}")))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(HttpError::InvalidRequest(format!(
                "scheme `{}` is not http or https",
                url.scheme()
            )));
        }
        if !self.allows(&url) {
            return Err(HttpError::NotAllowed(format!(
                "host `{}` is not in this plugin's allowed_hosts",
                url.host_str().unwrap_or_default()
            )));
        }
        // An IP literal is connected to as is (no resolver runs): check it here.
        let literal = url
            .host_str()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
            .and_then(|h| h.parse::<IpAddr>().ok());
        if let Some(ip) = literal
            && !self.allow_private
            && is_private(ip)
        {
            return Err(HttpError::NotAllowed(format!(
                "{ip} is a private address; this plugin may not reach private hosts"
            )));
        }
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|_| HttpError::InvalidRequest(format!("method `{}`", req.method)))?;
        if req.body.len() > self.max_request_bytes {
            return Err(HttpError::InvalidRequest(format!(
                "body above {} bytes",
                self.max_request_bytes
            )));
        }
        let mut timeout = self.max_timeout.min(remaining);
        if let Some(ms) = req.timeout_ms {
            timeout = timeout.min(Duration::from_millis(ms.into()));
        }
        if timeout.is_zero() {
            return Err(HttpError::Timeout);
        }
        let mut builder = self
            .client
            .request(method, url)
            .timeout(timeout)
            .body(req.body);
        // The plugin cannot choose its own `Host` (reqwest sets it from the URL).
        for (k, v) in req
            .headers
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("host"))
        {
            builder = builder.header(k, v);
        }
        let fut = async {
            let mut resp = builder.send().await?;
            let status = resp.status().as_u16();
            let headers = resp
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            if let Some(len) = resp.content_length()
                && len > self.max_response_bytes as u64
            {
                return Ok(Err(HttpError::TooLarge(self.max_response_bytes as u64)));
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await? {
                if body.len() + chunk.len() > self.max_response_bytes {
                    return Ok(Err(HttpError::TooLarge(self.max_response_bytes as u64)));
                }
                body.extend_from_slice(&chunk);
            }
            Ok::<_, reqwest::Error>(Ok(Response {
                status,
                headers,
                body,
            }))
        };
        match tokio::time::timeout(timeout, fut).await {
            Err(_) => Err(HttpError::Timeout),
            Ok(Err(e)) if e.is_timeout() => Err(HttpError::Timeout),
            Ok(Err(e)) => Err(HttpError::Transport(with_causes(&e))),
            Ok(Ok(r)) => r,
        }
    }
}

/// An error with its causes (a refused resolution says why only in a cause).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

/// Links `http` of every version this host runs.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    http::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    v1::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)
}

impl v1::Host for HostState {
    async fn send(&mut self, r: v1::Request) -> Result<v1::Response, v1::HttpError> {
        let request = Request {
            method: r.method,
            url: r.url,
            headers: r.headers,
            body: r.body,
            timeout_ms: r.timeout_ms,
        };
        match http::Host::send(self, request).await {
            Ok(r) => Ok(v1::Response {
                status: r.status,
                headers: r.headers,
                body: r.body,
            }),
            Err(e) => Err(match e {
                HttpError::NotAllowed(m) => v1::HttpError::NotAllowed(m),
                HttpError::InvalidRequest(m) => v1::HttpError::InvalidRequest(m),
                HttpError::Timeout => v1::HttpError::Timeout,
                HttpError::TooLarge(n) => v1::HttpError::TooLarge(n),
                HttpError::Transport(m) => v1::HttpError::Transport(m),
            }),
        }
    }
}

impl http::Host for HostState {
    async fn send(&mut self, request: Request) -> Result<Response, HttpError> {
        let Some(cap) = self.http.clone() else {
            return Err(HttpError::NotAllowed("outbound http is not granted".into()));
        };
        let remaining = self.remaining();
        let result = cap.send(request, remaining).await;
        if let Err(e) = &result {
            tracing::debug!(plugin = %self.plugin, error = ?e, "plugin http request failed");
        }
        result
    }
}
