//! The outbox for administrators: what could not be delivered, and sending it again.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::extract::{Authenticated, Params, PathId};
use super::pagination::{ListParams, Page};
use super::problem::ApiError;
use crate::app::App;
use crate::services::delivery;
use crate::store::outbox::{DeliveryStatus, OutboxMessage};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(list_messages)).routes(routes!(requeue_message))
}

/// Which messages to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutboxListParams {
    /// Only messages in this status (default: failed and dead).
    pub status: Option<DeliveryStatus>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// An email in the outbox. The template data is not shown: it may hold personal details.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OutboxMessageView {
    pub id: Uuid,
    pub status: DeliveryStatus,
    pub recipient_email: String,
    pub template: String,
    pub locale: String,
    pub appeal_id: Option<Uuid>,
    /// Whether the law requires this notice (never dropped, only delayed).
    pub essential: bool,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub message_id: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<OutboxMessage> for OutboxMessageView {
    fn from(m: OutboxMessage) -> Self {
        Self {
            id: m.id,
            status: m.status.parse().unwrap_or(DeliveryStatus::Dead),
            recipient_email: m.recipient_email,
            template: m.template,
            locale: m.locale,
            appeal_id: m.appeal_id,
            essential: m.essential,
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at,
            last_error: m.last_error,
            message_id: m.message_id,
            created_at: m.created_at,
            sent_at: m.sent_at,
        }
    }
}

/// List outbox messages (administrators), failed and dead ones by default.
#[utoipa::path(get, path = "/api/v1/admin/outbox", tag = "admin", security(("bearer" = [])),
    params(OutboxListParams),
    responses((status = 200, description = "A page of messages", body = Page<OutboxMessageView>)))]
async fn list_messages(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Params(params): Params<OutboxListParams>,
) -> Result<Json<Page<OutboxMessageView>>, ApiError> {
    let paging = ListParams { limit: params.limit, cursor: params.cursor };
    let limit = paging.limit()?;
    let after: Option<Uuid> = paging.cursor()?;
    let statuses = match params.status {
        Some(status) => vec![status],
        None => vec![DeliveryStatus::Failed, DeliveryStatus::Dead],
    };
    let rows = delivery::messages(&app, &caller, &statuses, after, limit + 1).await?;
    Ok(Json(Page::from_rows(rows, limit, |m| m.id, OutboxMessageView::from)))
}

/// Send a failed, dead or dropped message again now, with a fresh attempt count
/// (administrators). It keeps its Message-ID.
#[utoipa::path(post, path = "/api/v1/admin/outbox/{id}/requeue", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The message")),
    responses((status = 200, description = "Queued again", body = OutboxMessageView)))]
async fn requeue_message(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    PathId(id): PathId,
) -> Result<Json<OutboxMessageView>, ApiError> {
    Ok(Json(delivery::requeue(&app, &caller, id).await?.into()))
}
