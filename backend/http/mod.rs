//! The HTTP interface: routers per resource, extractors, problem+json errors, OpenAPI.
//! Handlers parse, call one service function and map its result; nothing more.

pub mod accounts;
pub mod admin;
pub mod appeal_views;
pub mod appeals;
pub mod calendar;
pub mod context;
pub mod extract;
pub mod metrics;
pub mod nul;
pub mod openapi;
pub mod ops;
pub mod outbox;
pub mod pagination;
pub mod problem;
pub mod reference;
pub mod reports;
pub mod rulesets;
pub mod shed;
pub mod views;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::app::App;
use problem::ApiError;

/// The whole application's router, with its middleware and documentation.
pub fn router(app: App) -> Router {
    let (routes, mut doc) = OpenApiRouter::with_openapi(openapi::base())
        .merge(accounts::routes())
        .merge(admin::routes())
        .merge(outbox::routes())
        .merge(calendar::routes())
        .merge(appeals::routes(app.settings.appeals.max_attachment_bytes))
        .merge(ops::routes())
        .merge(rulesets::routes(app.settings.server.ruleset_body_limit_bytes))
        .merge(reference::routes())
        .merge(reports::routes())
        .split_for_parts();
    openapi::add_error_responses(&mut doc);
    let settings = &app.settings.server;
    routes
        .merge(SwaggerUi::new("/docs").url("/api/v1/openapi.json", doc))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(settings.json_body_limit_bytes))
        .layer(middleware::from_fn(nul::refuse_in_uri))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(settings.request_timeout_secs),
        ))
        .layer(CatchPanicLayer::new())
        .layer(middleware::from_fn_with_state(
            shed::InFlight::new(settings.max_in_flight_requests),
            shed::limit,
        ))
        .layer(middleware::from_fn(problem::finalize))
        .layer(middleware::from_fn_with_state(app.clone(), context::assign))
        .with_state(app)
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}
