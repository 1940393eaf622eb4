//! Routing rulesets over HTTP: administrators create drafts (TOML or JSON), read, simulate,
//! replay and activate them under `/api/v1/admin/rulesets`; staff read why an appeal was
//! routed as it was at `/api/v1/appeals/{id}/routing`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use super::extract::{Authenticated, Params, PathId, Valid};
use super::pagination::{ListParams, Page};
use super::problem::{ApiError, ProblemKind};
use crate::app::App;
use crate::domain::routing::RoutingFacts;
use crate::services::appeals::viewer_of;
use crate::services::rulesets::{self, Described, Explanation, Format};
use crate::store::rulesets::StoredRuleset;

pub fn routes(max_source_bytes: usize) -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_rulesets, create_ruleset).layer(DefaultBodyLimit::max(max_source_bytes)))
        .routes(routes!(get_ruleset))
        .routes(routes!(simulate_ruleset))
        .routes(routes!(replay_ruleset))
        .routes(routes!(activate_ruleset))
        .routes(routes!(appeal_routing))
}

/// A ruleset version as administrators see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RulesetView {
    pub version: i32,
    /// `draft`, `active` or `retired`.
    pub status: String,
    pub author_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
    /// `toml` or `json`.
    pub format: String,
    pub description: Option<String>,
    /// The source text, exactly as sent (only in single-ruleset answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Rules, agencies reached and validation findings against the current catalog (only in
    /// single-ruleset answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub summary: Option<serde_json::Value>,
}

impl RulesetView {
    fn brief(stored: StoredRuleset) -> Self {
        Self {
            version: stored.version,
            status: stored.status,
            author_id: stored.author_id.map(|id| id.to_string()),
            created_at: stored.created_at,
            activated_at: stored.activated_at,
            format: stored.format,
            description: stored.description,
            source: None,
            summary: None,
        }
    }

    fn full(described: Described) -> Self {
        let summary = serde_json::to_value(&described.summary).ok();
        let source = Some(described.stored.source.clone());
        Self { source, summary, ..Self::brief(described.stored) }
    }
}

/// Ruleset source in the body: TOML (`application/toml` or `text/plain`) or JSON
/// (`application/json`).
pub struct RulesetSource {
    pub text: String,
    pub format: Format,
}

impl<S: Send + Sync> FromRequest<S> for RulesetSource {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mime = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let format = match mime.as_str() {
            "application/toml" | "text/plain" | "text/x-toml" => Format::Toml,
            "application/json" => Format::Json,
            _ => {
                return Err(ApiError::new(
                    ProblemKind::UnsupportedMediaType,
                    "Send the ruleset as TOML (application/toml or text/plain) or as JSON (application/json).",
                ));
            }
        };
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    ProblemKind::PayloadTooLarge,
                    "The ruleset is larger than this endpoint accepts.",
                )
            } else {
                ApiError::bad_request("The request body could not be read.")
            }
        })?;
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| ApiError::bad_request("The ruleset is not valid UTF-8."))?;
        Ok(Self { text, format })
    }
}

/// A ruleset version in the path; anything but a number names nothing (404).
pub struct PathVersion(pub i32);

impl<S: Send + Sync> FromRequestParts<S> for PathVersion {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) =
            Path::<String>::from_request_parts(parts, state).await.map_err(|_| ApiError::not_found())?;
        raw.parse().map(PathVersion).map_err(|_| ApiError::not_found())
    }
}

/// Optional details of a new draft.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CreateParams {
    /// What this version changes, for administrators.
    pub description: Option<String>,
}

/// List ruleset versions, newest first.
#[utoipa::path(get, path = "/api/v1/admin/rulesets", tag = "rulesets", security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, description = "A page of ruleset versions", body = Page<RulesetView>)))]
async fn list_rulesets(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Params(params): Params<ListParams>,
) -> Result<Json<Page<RulesetView>>, ApiError> {
    let limit = params.limit()?;
    let before: Option<i32> = params.cursor()?;
    let rows = rulesets::page(&app, &caller, before, limit + 1).await?;
    Ok(Json(Page::from_rows(rows, limit, |r| r.version, RulesetView::brief)))
}

/// Save a new draft version. The body is the ruleset in TOML (`application/toml` or
/// `text/plain`) or JSON. It is validated first: a syntax error or any validation error
/// (naming the rule and, for TOML, the line) is a 422 and saves nothing.
#[utoipa::path(post, path = "/api/v1/admin/rulesets", tag = "rulesets", security(("bearer" = [])),
    params(CreateParams),
    request_body(description = "The ruleset: TOML (`application/toml` or `text/plain`), or the same structure as JSON",
        content((String = "application/toml"), (String = "text/plain"), (Object = "application/json"))),
    responses((status = 201, description = "The draft", body = RulesetView)))]
async fn create_ruleset(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Params(params): Params<CreateParams>,
    source: RulesetSource,
) -> Result<(StatusCode, Json<RulesetView>), ApiError> {
    let described =
        rulesets::create_draft(&app, &caller, source.text, source.format, params.description).await?;
    Ok((StatusCode::CREATED, Json(RulesetView::full(described))))
}

/// One ruleset version with its source and summary.
#[utoipa::path(get, path = "/api/v1/admin/rulesets/{version}", tag = "rulesets", security(("bearer" = [])),
    params(("version" = i32, Path, description = "Ruleset version")),
    responses((status = 200, description = "The ruleset", body = RulesetView)))]
async fn get_ruleset(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    PathVersion(version): PathVersion,
) -> Result<Json<RulesetView>, ApiError> {
    Ok(Json(RulesetView::full(rulesets::get(&app, &caller, version).await?)))
}

/// A sample appeal to route.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    pub appeal: RoutingFacts,
}

/// Where a ruleset sends a sample appeal, and why.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SimulationView {
    /// Agency, policy, priority, tags and the deciding rule (`null` for the fallback).
    #[schema(value_type = Object)]
    pub decision: serde_json::Value,
    /// Each rule tried, with the condition that failed or the agency it matched.
    #[schema(value_type = Object)]
    pub trace: serde_json::Value,
}

/// Route a sample appeal with this version (draft or not) and explain the decision.
#[utoipa::path(post, path = "/api/v1/admin/rulesets/{version}/simulate", tag = "rulesets", security(("bearer" = [])),
    params(("version" = i32, Path, description = "Ruleset version")),
    request_body = SimulateRequest,
    responses((status = 200, description = "Decision and trace", body = SimulationView)))]
async fn simulate_ruleset(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    PathVersion(version): PathVersion,
    Valid(req): Valid<SimulateRequest>,
) -> Result<Json<SimulationView>, ApiError> {
    let (decision, trace) = rulesets::simulate(&app, &caller, version, &req.appeal).await?;
    Ok(Json(SimulationView {
        decision: serde_json::to_value(decision).unwrap_or_default(),
        trace: serde_json::to_value(trace).unwrap_or_default(),
    }))
}

/// The period of filed appeals to replay: `[from, until)`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// What a version would change for the appeals of a period.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReplayView {
    /// Appeals that would stay with the agency holding them.
    pub unchanged: usize,
    /// `{from, to, count, examples: [appeal id]}`, most appeals first.
    #[schema(value_type = Vec<Object>)]
    pub moves: serde_json::Value,
}

/// Replay this version against the appeals registered in a period: how many would go to
/// another agency than the one holding them now, with example appeal ids. Changes nothing.
#[utoipa::path(post, path = "/api/v1/admin/rulesets/{version}/replay", tag = "rulesets", security(("bearer" = [])),
    params(("version" = i32, Path, description = "Ruleset version")),
    request_body = ReplayRequest,
    responses((status = 200, description = "The differences", body = ReplayView)))]
async fn replay_ruleset(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    PathVersion(version): PathVersion,
    Valid(req): Valid<ReplayRequest>,
) -> Result<Json<ReplayView>, ApiError> {
    if req.until <= req.from {
        return Err(ApiError::validation(vec![crate::domain::field::FieldError::invalid(
            "until",
            "must be after `from`",
        )]));
    }
    let report = rulesets::replay_period(&app, &caller, version, req.from, req.until).await?;
    Ok(Json(ReplayView {
        unchanged: report.unchanged,
        moves: serde_json::to_value(report.moves).unwrap_or_default(),
    }))
}

/// Make this draft the active version; the version active before is retired. The next
/// filing on every instance routes with it. 409 when it is not a draft or no longer valid.
#[utoipa::path(post, path = "/api/v1/admin/rulesets/{version}/activate", tag = "rulesets", security(("bearer" = [])),
    params(("version" = i32, Path, description = "Ruleset version")),
    responses((status = 200, description = "The active version", body = RulesetView)))]
async fn activate_ruleset(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    PathVersion(version): PathVersion,
) -> Result<Json<RulesetView>, ApiError> {
    Ok(Json(RulesetView::brief(rulesets::activate(&app, &caller, version).await?)))
}

/// Why an appeal was routed as it was.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RoutingView {
    pub appeal_id: String,
    /// The agency holding the appeal now (a re-route or forwarding may have moved it).
    pub agency: String,
    /// The ruleset version that routed it; `null` when none was active.
    pub ruleset_version: Option<i32>,
    /// The rule that decided; `null` for the fallback or when no ruleset routed it.
    pub rule_id: Option<String>,
    /// Each rule tried at filing, with the condition that failed or the agency matched.
    #[schema(value_type = Option<Object>)]
    pub trace: Option<serde_json::Value>,
}

impl From<Explanation> for RoutingView {
    fn from(e: Explanation) -> Self {
        Self {
            appeal_id: e.appeal_id.to_string(),
            agency: e.agency,
            ruleset_version: e.ruleset_version,
            rule_id: e.rule_id,
            trace: e.trace.and_then(|t| serde_json::to_value(t).ok()),
        }
    }
}

/// The routing decision of an appeal with its trace. Staff who can see the appeal only;
/// anyone else gets 404.
#[utoipa::path(get, path = "/api/v1/appeals/{id}/routing", tag = "appeals", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Appeal id")),
    responses((status = 200, description = "How the appeal was routed", body = RoutingView)))]
async fn appeal_routing(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    PathId(id): PathId,
) -> Result<Json<RoutingView>, ApiError> {
    let explanation = rulesets::explain(&app, &viewer_of(&caller), id).await?;
    Ok(Json(explanation.into()))
}
