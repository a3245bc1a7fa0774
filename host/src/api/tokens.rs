//! `/api/v1/tokens`: admins list and revoke API tokens (created by `kolhost token create`).

use axum::Json;
use axum::extract::State;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::error::{ApiResult, Problem};
use super::extract::{Path, Query};
use super::pagination::{Page, PageParams};
use crate::app::AppState;
use crate::domain::Actor;
use crate::service::tokens::{self, Token};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens))
        .routes(routes!(revoke_token))
}

/// Every token with its role, owner, expiry and last use, oldest first (admin). Never a secret
/// or its hash.
#[utoipa::path(get, path = "/tokens", tag = "tokens", params(PageParams),
    responses((status = 200, body = Page<Token>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_tokens(
    State(s): State<AppState>,
    actor: Actor,
    Query(page): Query<PageParams>,
) -> ApiResult<Json<Page<Token>>> {
    Ok(Json(tokens::list(&s.db, &actor, page.request()?).await?))
}

/// Revokes a token (admin): it fails from its next request on.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "tokens", params(("id" = Uuid, Path)),
    responses((status = 200, body = Token), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke_token(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Token>> {
    Ok(Json(tokens::revoke(&s.db, &s.tokens, &actor, id).await?))
}
