//! Operational endpoints: liveness, readiness, metrics and the token verification keys.

use std::fmt::Write as _;

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
            let unsent: Vec<(String, u64)> =
                counts.unsent.iter().map(|(status, n)| (format!("{{status=\"{status}\"}}"), *n)).collect();
            family(
                &mut text,
                "murojiat_outbox_messages",
                "gauge",
                "Emails in the outbox not sent, by delivery status.",
                &unsent,
            );
            let sent = [(String::new(), counts.sent_total)];
            family(
                &mut text,
                "murojiat_mail_sent_total",
                "counter",
                "Emails this process has sent since it started.",
                &sent,
            );
        }
        Err(error) => tracing::warn!(%error, "outbox counts unavailable for /metrics"),
    }
    match crate::services::scheduler::counts(&app, app.clock.now()).await {
        Ok(jobs) => {
            family(
                &mut text,
                "murojiat_jobs_due",
                "gauge",
                "Scheduler jobs due and not yet done.",
                &[(String::new(), jobs.due)],
            );
            let failed = [(String::new(), jobs.failed)];
            family(
                &mut text,
                "murojiat_jobs_failed",
                "gauge",
                "Scheduler jobs that gave up after their last attempt.",
                &failed,
            );
            let unalerted = [(String::new(), jobs.unalerted_escalations)];
            family(
                &mut text,
                "murojiat_escalations_unalerted",
                "gauge",
                "Missed deadlines nobody was alerted to (no supervisor, assignee or agency address).",
                &unalerted,
            );
            family(
                &mut text,
                "murojiat_calendar_rechecks_failed",
                "gauge",
                "Calendar edits whose recheck of the deadlines other processes set meanwhile gave up.",
                &[(String::new(), jobs.failed_calendar_rechecks)],
            );
        }
        Err(error) => tracing::warn!(%error, "job counts unavailable for /metrics"),
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text)
}

/// One metric family in the Prometheus text format: its HELP and TYPE lines, then a sample per
/// label set (`""` for none, or `{name="value"}`).
fn family(text: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, u64)]) {
    let _ = writeln!(text, "# HELP {name} {help}");
    let _ = writeln!(text, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(text, "{name}{labels} {value}");
    }
}

/// The public keys that verify access tokens (JWKS).
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "operations",
    responses((status = 200, description = "JSON Web Key Set", body = Jwks)))]
async fn jwks(State(app): State<App>) -> Json<Jwks> {
    Json(app.tokens.keys().jwks())
}
