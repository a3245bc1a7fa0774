//! Bearer-token extraction (design §3): the header read here, the token resolved by
//! `service::auth`. A token that is not valid counts against its client address
//! (`service::limits`; behind a trusted proxy, the address it forwards: `client`); a valid one
//! against its own budget.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::app::AppState;
use crate::domain::Actor;
use crate::service;

impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let secret = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        let actor = match service::auth::authenticate(&state.db, &state.tokens, secret).await {
            Err(ApiError::Unauthorized) => {
                let addr = super::client::client_ip(parts, &state.config.trusted_proxies);
                metrics::counter!("kolhost_auth_failures_total").increment(1);
                state.limits.failed_auth(addr)?;
                return Err(ApiError::Unauthorized);
            }
            other => other?,
        };
        if let Some(id) = actor.token_id {
            state.limits.request(id)?;
        }
        Ok(actor)
    }
}
