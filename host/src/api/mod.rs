//! The HTTP API (design §3, §4): one module per resource, composed here with its OpenAPI document.

pub mod allocations;
pub mod audit;
pub mod auth;
pub mod brands;
pub mod client;
pub mod compliance;
pub mod contracts;
pub mod error;
pub mod extract;
pub mod i18n;
pub mod kols;
pub mod meta;
pub mod openapi;
pub mod orders;
pub mod pagination;
pub mod plugins;
pub mod products;
pub mod reconciliation;
pub mod reports;
pub mod scripts;
pub mod sessions;
pub mod settlements;
pub mod tokens;
pub mod webhooks;

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "kolhost", description = "Operations server for livestream-commerce agencies"),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(error::Problem, crate::domain::FieldError, crate::service::orders::GmvBy))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Every route with its documentation. Building both from one list keeps them from drifting.
pub fn router() -> OpenApiRouter<AppState> {
    let v1 = OpenApiRouter::new()
        .merge(meta::api_router())
        .merge(brands::router())
        .merge(kols::router())
        .merge(products::router())
        .merge(contracts::router())
        .merge(sessions::router())
        .merge(plugins::router())
        .merge(scripts::router())
        .merge(allocations::router())
        .merge(orders::router())
        .merge(audit::router())
        .merge(settlements::router())
        .merge(reports::router())
        .merge(reconciliation::router())
        .merge(compliance::router())
        .merge(tokens::router());
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", v1)
        .merge(meta::root_router())
        .merge(webhooks::router())
}
