//! Operational endpoints: liveness, readiness, metrics and the token verification keys.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::problem::{ApiError, ProblemKind};
use crate::app::App;
use crate::auth::keys::Jwks;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(jwks))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`
    pub status: &'static str,
}

/// Liveness: the process is up and serving.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Alive", body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness: the database answers and every migration is applied.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready", body = Health)))]
async fn readyz(State(app): State<App>) -> Result<Json<Health>, ApiError> {
    if app.db.is_ready().await {
        Ok(Json(Health { status: "ok" }))
    } else {
        Err(ApiError::new(ProblemKind::Unavailable, "The database is unreachable or not migrated."))
    }
}

/// Prometheus metrics: requests by matched route, status and latency; the outbox; the
/// scheduler's due and failed jobs.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)))]
async fn metrics(State(app): State<App>) -> impl IntoResponse {
    let mut text = app.metrics.render();
    match crate::services::delivery::counts(&app).await {
        Ok(counts) => {
            text.push_str(
                "# HELP murojiat_outbox_messages Emails in the outbox not sent, by delivery status.\n",
            );
            text.push_str("# TYPE murojiat_outbox_messages gauge\n");
            for (status, count) in counts.unsent {
                text.push_str(&format!("murojiat_outbox_messages{{status=\"{status}\"}} {count}\n"));
            }
            text.push_str("# HELP murojiat_mail_sent_total Emails this process has sent since it started.\n");
            text.push_str("# TYPE murojiat_mail_sent_total counter\n");
            text.push_str(&format!("murojiat_mail_sent_total {}\n", counts.sent_total));
        }
        Err(error) => tracing::warn!(%error, "outbox counts unavailable for /metrics"),
    }
    match crate::services::scheduler::counts(&app, app.clock.now()).await {
        Ok(jobs) => {
            text.push_str("# HELP murojiat_jobs_due Scheduler jobs due and not yet done.\n");
            text.push_str("# TYPE murojiat_jobs_due gauge\n");
            text.push_str(&format!("murojiat_jobs_due {}\n", jobs.due));
            text.push_str(
                "# HELP murojiat_jobs_failed Scheduler jobs that gave up after their last attempt.\n",
            );
            text.push_str("# TYPE murojiat_jobs_failed gauge\n");
            text.push_str(&format!("murojiat_jobs_failed {}\n", jobs.failed));
        }
        Err(error) => tracing::warn!(%error, "job counts unavailable for /metrics"),
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text)
}

/// The public keys that verify access tokens (JWKS).
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "operations",
    responses((status = 200, description = "JSON Web Key Set", body = Jwks)))]
async fn jwks(State(app): State<App>) -> Json<Jwks> {
    Json(app.tokens.keys().jwks())
}
