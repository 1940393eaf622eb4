//! Appeals over HTTP: filing (citizen, guest, official entry), reading, the timeline,
//! lifecycle actions, attachments and the staff queue.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;
use uuid::Uuid;

use super::appeal_views::{AppealView, AttachmentView, EventView, QueueItemView};
use super::extract::{Authenticated, ClientAddr, Params, PathId, Valid};
use super::pagination::{ListParams, Page};
use super::problem::{ApiError, ProblemKind};
use crate::app::App;
use crate::domain::access::{ViewLevel, Viewer};
use crate::domain::appeal::{AppealKind, Channel};
use crate::domain::field::{FieldError, FieldErrors};
use crate::domain::lifecycle::{DismissalReason, Outcome, Status};
use crate::domain::submission::{AnswerText, MessageText, RawAppeal, ReasonText};
use crate::services::ServiceError;
use crate::services::appeals::actions::{self, Command};
use crate::services::appeals::attachments::{self, UploadRefused};
use crate::services::appeals::filing::{self, Filer, IdempotencyKey};
use crate::services::appeals::queue::{self, Assignee, DeadlineFilter, QueueFilter};
use crate::services::appeals::{Seen, reads, viewer_of};
use crate::store::appeals::{QueueOrder, QueueRow};

/// The routes; `max_upload_bytes` caps attachment bodies (JSON bodies keep the global cap).
pub fn routes(max_upload_bytes: usize) -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(file_appeal, my_appeals))
        .routes(routes!(file_as_guest))
        .routes(routes!(enter_appeal))
        .routes(routes!(get_appeal))
        .routes(routes!(timeline))
        .routes(routes!(act))
        .routes(routes!(guest_status))
        .routes(routes!(guest_timeline))
        .routes(routes!(guest_act))
        .routes(
            routes!(list_attachments, upload_attachment)
                .layer(axum::extract::DefaultBodyLimit::max(max_upload_bytes.saturating_add(1024))),
        )
        .routes(routes!(download_attachment))
        .routes(routes!(work_queue))
}

/// An appeal with its ETag (the version to send back as If-Match).
struct Versioned(StatusCode, AppealView);

impl IntoResponse for Versioned {
    fn into_response(self) -> Response {
        let etag = format!("\"{}\"", self.1.version);
        let mut response = (self.0, Json(self.1)).into_response();
        if let Ok(value) = HeaderValue::from_str(&etag) {
            response.headers_mut().insert(header::ETAG, value);
        }
        response
    }
}

const IDEMPOTENCY_KEY: &str = "idempotency-key";

fn idempotency_key(headers: &HeaderMap, scope: String) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else { return Ok(None) };
    let key = value.to_str().ok().map(str::trim).filter(|k| (1..=255).contains(&k.len()));
    match key {
        Some(key) => Ok(Some(IdempotencyKey { scope, key: key.to_owned() })),
        None => Err(ApiError::validation(vec![FieldError::invalid(
            "Idempotency-Key",
            "must be 1 to 255 visible characters",
        )])),
    }
}

/// File an appeal as a signed-in citizen. Send an `Idempotency-Key` header to make retries
/// safe: the same key and body return the first result.
#[utoipa::path(post, path = "/api/v1/appeals", tag = "appeals", security(("bearer" = [])),
    request_body = RawAppeal,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, description = "Filed", body = AppealView)))]
async fn file_appeal(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    headers: HeaderMap,
    Valid(raw): Valid<RawAppeal>,
) -> Result<Versioned, ApiError> {
    let key = idempotency_key(&headers, format!("user:{}", caller.id))?;
    let filed = filing::file(&app, Filer::Citizen(&caller), raw, key).await?;
    Ok(Versioned(StatusCode::CREATED, AppealView::of(filed.seen)))
}

/// A guest's new appeal: keep the tracking number and the access code, which is shown only
/// here.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GuestFiled {
    pub appeal: AppealView,
    /// With the tracking number, opens the appeal at /api/v1/public/appeals/{tracking_number}
    /// (header X-Access-Code).
    pub access_code: Option<String>,
}

/// File an appeal without an account: name, email and postal address are required.
#[utoipa::path(post, path = "/api/v1/public/appeals", tag = "appeals",
    request_body = RawAppeal,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, description = "Filed", body = GuestFiled)))]
async fn file_as_guest(
    State(app): State<App>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Valid(raw): Valid<RawAppeal>,
) -> Result<(StatusCode, Json<GuestFiled>), ApiError> {
    let key = idempotency_key(&headers, format!("guest:{client}"))?;
    let filed = filing::file(&app, Filer::Guest, raw, key).await?;
    Ok((
        StatusCode::CREATED,
        Json(GuestFiled { appeal: AppealView::of(filed.seen), access_code: filed.access_code }),
    ))
}

/// How an appeal reached an official.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Medium {
    Oral,
    Paper,
}

/// An oral or paper appeal entered by an official, registered at the official's agency.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryRequest {
    pub medium: Medium,
    /// The registered citizen the appeal is from, if any.
    pub citizen_id: Option<Uuid>,
    pub appeal: RawAppeal,
}

/// Enter an oral or paper appeal on a citizen's behalf.
#[utoipa::path(post, path = "/api/v1/entries", tag = "appeals", security(("bearer" = [])),
    request_body = EntryRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, description = "Registered", body = AppealView)))]
async fn enter_appeal(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    headers: HeaderMap,
    Valid(req): Valid<EntryRequest>,
) -> Result<Versioned, ApiError> {
    let key = idempotency_key(&headers, format!("user:{}", caller.id))?;
    let channel = match req.medium {
        Medium::Oral => Channel::Oral,
        Medium::Paper => Channel::Paper,
    };
    let filer = Filer::Official { caller: &caller, channel, citizen: req.citizen_id };
    let filed = filing::file(&app, filer, req.appeal, key).await.map_err(|err| match err {
        // The appeal's fields are under `appeal` in this body; name them where they are (the
        // citizen is beside it, and the key is a header).
        ServiceError::Invalid(errors) => ServiceError::Invalid(
            errors
                .into_iter()
                .map(|e| match e.field.as_str() {
                    "citizen_id" | "Idempotency-Key" => e,
                    field => FieldError { field: format!("appeal.{field}"), ..e },
                })
                .collect(),
        ),
        other => other,
    })?;
    Ok(Versioned(StatusCode::CREATED, AppealView::of(filed.seen)))
}

/// The keyset position of a list row.
#[derive(Debug, Serialize, Deserialize)]
struct Position(DateTime<Utc>, Uuid);

/// The caller's own appeals, newest first.
#[utoipa::path(get, path = "/api/v1/appeals", tag = "appeals", security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, description = "A page of appeals", body = Page<AppealView>)))]
async fn my_appeals(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Params(params): Params<ListParams>,
) -> Result<Json<Page<AppealView>>, ApiError> {
    let limit = params.limit()?;
    let after = params.cursor::<Position>()?.map(|Position(at, id)| (at, id));
    let rows = reads::mine(&app, &caller, after, limit + 1).await?;
    Ok(Json(Page::from_rows(rows, limit, |s| Position(s.appeal.created_at, s.appeal.id), AppealView::of)))
}

/// One appeal, as the caller may see it.
#[utoipa::path(get, path = "/api/v1/appeals/{id}", tag = "appeals", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Appeal id")),
    responses((status = 200, description = "The appeal; ETag is its version", body = AppealView)))]
async fn get_appeal(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    PathId(id): PathId,
) -> Result<Versioned, ApiError> {
    let seen = reads::get(&app, &viewer_of(&caller), id).await?;
    Ok(Versioned(StatusCode::OK, AppealView::of(seen)))
}

/// The appeal's timeline. Citizens see public events only; staff see internal notes too.
#[utoipa::path(get, path = "/api/v1/appeals/{id}/timeline", tag = "appeals", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Appeal id")),
    responses((status = 200, description = "Events in order", body = Vec<EventView>)))]
async fn timeline(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    PathId(id): PathId,
) -> Result<Json<Vec<EventView>>, ApiError> {
    timeline_for(&app, &viewer_of(&caller), id).await
}

async fn timeline_for(app: &App, viewer: &Viewer, id: Uuid) -> Result<Json<Vec<EventView>>, ApiError> {
    let staff = reads::get(app, viewer, id).await?.level == ViewLevel::Staff;
    let events = reads::timeline(app, viewer, id).await?;
    Ok(Json(EventView::timeline(events, staff)))
}

/// The lifecycle actions, as they appear in the path.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ActionName {
    Take,
    Assign,
    RequestInfo,
    Reply,
    Forward,
    Reroute,
    RequestExtension,
    GrantExtension,
    RefuseExtension,
    Answer,
    Dismiss,
    Withdraw,
    Contest,
    Uphold,
    Reopen,
    Note,
    Message,
}

/// The details of an action; each action reads the fields it needs:
/// assign: `assignee`; request-info, reply: `message`; forward, reroute: `agency`, `reason`;
/// request-extension, grant-extension: `days`, `reason`; refuse-extension: `reason`;
/// answer: `outcome`, `text`; dismiss: `reason` (a dismissal reason code), `comment`;
/// withdraw: optional `reason`; contest: `reason`; uphold, reopen: `comment`;
/// note, message: `text`. `version` may stand in for the If-Match header. Any other field is
/// refused with 400.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    pub assignee: Option<Uuid>,
    pub message: Option<String>,
    pub agency: Option<String>,
    pub reason: Option<String>,
    pub days: Option<u32>,
    pub outcome: Option<Outcome>,
    pub text: Option<String>,
    pub comment: Option<String>,
    pub version: Option<i32>,
}

impl ActionRequest {
    /// The body fields `action` reads (besides `version`).
    fn fields_of(action: ActionName) -> &'static [&'static str] {
        match action {
            ActionName::Take => &[],
            ActionName::Assign => &["assignee"],
            ActionName::RequestInfo | ActionName::Reply => &["message"],
            ActionName::Forward | ActionName::Reroute => &["agency", "reason"],
            ActionName::RequestExtension | ActionName::GrantExtension => &["days", "reason"],
            ActionName::RefuseExtension | ActionName::Withdraw | ActionName::Contest => &["reason"],
            ActionName::Answer => &["outcome", "text"],
            ActionName::Dismiss => &["reason", "comment"],
            ActionName::Uphold | ActionName::Reopen => &["comment"],
            ActionName::Note | ActionName::Message => &["text"],
        }
    }

    /// The fields the client sent (besides `version`).
    fn given(&self) -> impl Iterator<Item = &'static str> {
        [
            ("assignee", self.assignee.is_some()),
            ("message", self.message.is_some()),
            ("agency", self.agency.is_some()),
            ("reason", self.reason.is_some()),
            ("days", self.days.is_some()),
            ("outcome", self.outcome.is_some()),
            ("text", self.text.is_some()),
            ("comment", self.comment.is_some()),
        ]
        .into_iter()
        .filter_map(|(field, given)| given.then_some(field))
    }

    /// Builds the command, reporting every missing or invalid field at once. A field this
    /// action does not read is refused like an unknown one (400), so a client can never
    /// believe it set something (an agency, an assignee) that the action ignores.
    fn command(self, action: ActionName) -> Result<Command, ApiError> {
        if let Some(field) = self.given().find(|field| !Self::fields_of(action).contains(field)) {
            return Err(ApiError::bad_request(format!(
                "Field '{field}' does not apply to this action; this endpoint does not accept it."
            )));
        }
        let mut errors = FieldErrors::default();
        let required = |value: Option<String>, field: &str, errors: &mut FieldErrors| {
            if value.is_none() {
                errors.push(FieldError::new(field, "required", "is required for this action"));
            }
            value
        };
        macro_rules! text {
            ($ty:ty, $value:expr, $field:literal) => {
                required($value, $field, &mut errors)
                    .and_then(|v| errors.take(<$ty>::parse(&v).map_err(|e| e.at($field))))
            };
        }
        let command = match action {
            ActionName::Take => Some(Command::Take),
            ActionName::Assign => {
                if self.assignee.is_none() {
                    errors.push(FieldError::new("assignee", "required", "is required for this action"));
                }
                self.assignee.map(|assignee| Command::Assign { assignee })
            }
            ActionName::RequestInfo => {
                text!(MessageText, self.message, "message").map(|message| Command::RequestInfo { message })
            }
            ActionName::Reply => {
                text!(MessageText, self.message, "message").map(|message| Command::Reply { message })
            }
            ActionName::Forward | ActionName::Reroute => {
                let agency = required(self.agency, "agency", &mut errors);
                let reason = text!(ReasonText, self.reason, "reason");
                agency.zip(reason).map(|(agency, reason)| match action {
                    ActionName::Forward => Command::Forward { agency, reason },
                    _ => Command::Reroute { agency, reason },
                })
            }
            ActionName::RequestExtension | ActionName::GrantExtension => {
                if self.days.is_none() {
                    errors.push(FieldError::new("days", "required", "is required for this action"));
                }
                let reason = text!(ReasonText, self.reason, "reason");
                self.days.zip(reason).map(|(days, reason)| match action {
                    ActionName::RequestExtension => Command::RequestExtension { days, reason },
                    _ => Command::GrantExtension { days, reason },
                })
            }
            ActionName::RefuseExtension => {
                text!(ReasonText, self.reason, "reason").map(|reason| Command::RefuseExtension { reason })
            }
            ActionName::Answer => {
                if self.outcome.is_none() {
                    errors.push(FieldError::new("outcome", "required", "is required for this action"));
                }
                let text = text!(AnswerText, self.text, "text");
                self.outcome.zip(text).map(|(outcome, text)| Command::Answer { outcome, text })
            }
            ActionName::Dismiss => {
                let reason = required(self.reason, "reason", &mut errors).and_then(|r| {
                    errors.take(r.parse::<DismissalReason>().map_err(|_| {
                        FieldError::invalid(
                            "reason",
                            "must be anonymous, repeated_without_new_arguments, abusive or not_competent_nowhere_to_forward",
                        )
                    }))
                });
                let comment = text!(ReasonText, self.comment, "comment");
                reason.zip(comment).map(|(reason, comment)| Command::Dismiss { reason, comment })
            }
            ActionName::Withdraw => {
                let reason = self.reason.and_then(|r| errors.take(ReasonText::parse(&r)));
                Some(Command::Withdraw { reason })
            }
            ActionName::Contest => {
                text!(ReasonText, self.reason, "reason").map(|reason| Command::Contest { reason })
            }
            ActionName::Uphold => {
                text!(ReasonText, self.comment, "comment").map(|comment| Command::Uphold { comment })
            }
            ActionName::Reopen => {
                text!(ReasonText, self.comment, "comment").map(|comment| Command::Reopen { comment })
            }
            ActionName::Note => text!(MessageText, self.text, "text").map(|text| Command::Note { text }),
            ActionName::Message => {
                text!(MessageText, self.text, "text").map(|text| Command::Message { text })
            }
        };
        errors.finish().map_err(ApiError::validation)?;
        command.ok_or_else(|| ApiError::bad_request("The action could not be built."))
    }
}

/// Reads the version from If-Match (`"3"`, `W/"3"` or `3`), or from the body's `version`.
fn expected_version(headers: &HeaderMap, body_version: Option<i32>) -> Result<Option<i32>, ApiError> {
    match headers.get(header::IF_MATCH) {
        Some(value) => {
            let text = value.to_str().unwrap_or_default().trim();
            let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
            text.parse::<i32>().map(Some).map_err(|_| {
                ApiError::validation(vec![FieldError::invalid(
                    "If-Match",
                    "must be the appeal's ETag, such as \"3\"",
                )])
            })
        }
        None => Ok(body_version),
    }
}

/// Take a lifecycle action on an appeal. Send the appeal's ETag as If-Match (or `version`
/// in the body): a stale version answers 412; an action the current status does not allow
/// answers 409 naming the allowed ones.
#[utoipa::path(post, path = "/api/v1/appeals/{id}/actions/{action}", tag = "appeals", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Appeal id"),
           ("action" = ActionName, Path, description = "The action"),
           ("If-Match" = Option<String>, Header, description = "The appeal's ETag")),
    request_body = ActionRequest,
    responses((status = 200, description = "The updated appeal", body = AppealView),
              (status = 412, description = "Stale version", body = super::problem::Problem, content_type = "application/problem+json"),
              (status = 428, description = "No version given", body = super::problem::Problem, content_type = "application/problem+json")))]
async fn act(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    Valid(req): Valid<ActionRequest>,
) -> Result<Versioned, ApiError> {
    let id: Uuid = id.parse().map_err(|_| ApiError::not_found())?;
    act_as(&app, &viewer_of(&caller), id, &action, &headers, req).await
}

async fn act_as(
    app: &App,
    viewer: &Viewer,
    id: Uuid,
    action: &str,
    headers: &HeaderMap,
    req: ActionRequest,
) -> Result<Versioned, ApiError> {
    let action: ActionName = serde_json::from_value(serde_json::Value::String(action.to_owned()))
        .map_err(|_| ApiError::not_found())?;
    let version = expected_version(headers, req.version)?;
    let command = req.command(action)?;
    let seen = actions::act(app, viewer, id, version, command).await?;
    Ok(Versioned(StatusCode::OK, AppealView::of(seen)))
}

const ACCESS_CODE: &str = "x-access-code";

async fn guest_viewer(
    app: &App,
    client: &str,
    tracking: &str,
    headers: &HeaderMap,
) -> Result<(Viewer, Seen), ApiError> {
    let code = headers.get(ACCESS_CODE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    Ok(reads::as_guest(app, client, tracking, code).await?)
}

/// A guest's appeal by tracking number, with the access code in the X-Access-Code header.
/// A wrong number or code is 404, and attempts are rate-limited.
#[utoipa::path(get, path = "/api/v1/public/appeals/{tracking_number}", tag = "appeals",
    params(("tracking_number" = String, Path, description = "The tracking number"),
           ("X-Access-Code" = String, Header, description = "The access code given at filing")),
    responses((status = 200, description = "The appeal", body = AppealView)))]
async fn guest_status(
    State(app): State<App>,
    ClientAddr(client): ClientAddr,
    Path(tracking): Path<String>,
    headers: HeaderMap,
) -> Result<Versioned, ApiError> {
    let (_, seen) = guest_viewer(&app, &client, &tracking, &headers).await?;
    Ok(Versioned(StatusCode::OK, AppealView::of(seen)))
}

/// A guest's appeal timeline (public events).
#[utoipa::path(get, path = "/api/v1/public/appeals/{tracking_number}/timeline", tag = "appeals",
    params(("tracking_number" = String, Path, description = "The tracking number"),
           ("X-Access-Code" = String, Header, description = "The access code given at filing")),
    responses((status = 200, description = "Events in order", body = Vec<EventView>)))]
async fn guest_timeline(
    State(app): State<App>,
    ClientAddr(client): ClientAddr,
    Path(tracking): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Vec<EventView>>, ApiError> {
    let (viewer, seen) = guest_viewer(&app, &client, &tracking, &headers).await?;
    timeline_for(&app, &viewer, seen.appeal.id).await
}

/// A guest acts on their appeal (reply, withdraw, contest, message).
#[utoipa::path(post, path = "/api/v1/public/appeals/{tracking_number}/actions/{action}", tag = "appeals",
    params(("tracking_number" = String, Path, description = "The tracking number"),
           ("action" = ActionName, Path, description = "The action"),
           ("X-Access-Code" = String, Header, description = "The access code given at filing"),
           ("If-Match" = Option<String>, Header, description = "The appeal's ETag")),
    request_body = ActionRequest,
    responses((status = 200, description = "The updated appeal", body = AppealView),
              (status = 412, description = "Stale version", body = super::problem::Problem, content_type = "application/problem+json"),
              (status = 428, description = "No version given", body = super::problem::Problem, content_type = "application/problem+json")))]
async fn guest_act(
    State(app): State<App>,
    ClientAddr(client): ClientAddr,
    Path((tracking, action)): Path<(String, String)>,
    headers: HeaderMap,
    Valid(req): Valid<ActionRequest>,
) -> Result<Versioned, ApiError> {
    let (viewer, seen) = guest_viewer(&app, &client, &tracking, &headers).await?;
    act_as(&app, &viewer, seen.appeal.id, &action, &headers, req).await
}

/// The appeal's attachments.
#[utoipa::path(get, path = "/api/v1/appeals/{id}/attachments", tag = "appeals", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Appeal id")),
    responses((status = 200, description = "Attachments", body = Vec<AttachmentView>)))]
async fn list_attachments(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    PathId(id): PathId,
) -> Result<Json<Vec<AttachmentView>>, ApiError> {
    let rows = attachments::list(&app, &viewer_of(&caller), id).await?;
    Ok(Json(rows.into_iter().map(AttachmentView::from).collect()))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// The file's name, as shown to readers.
    pub file_name: String,
}

/// Attach a file (PDF, JPEG, PNG or DOCX, at most 10 MiB, 5 per appeal). Send the file as
/// the raw body with its content type; the type is checked from the file's first bytes.
#[utoipa::path(post, path = "/api/v1/appeals/{id}/attachments", tag = "appeals", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Appeal id"), UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, description = "Attached", body = AttachmentView)))]
async fn upload_attachment(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    PathId(id): PathId,
    Params(params): Params<UploadParams>,
    request: Request,
) -> Result<(StatusCode, Json<AttachmentView>), ApiError> {
    let bytes = Bytes::from_request(request, &app).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(ProblemKind::PayloadTooLarge, "The file is larger than 10 MiB.")
        } else {
            ApiError::bad_request("The file could not be read.")
        }
    })?;
    match attachments::upload(&app, &viewer_of(&caller), id, &params.file_name, &bytes).await? {
        Ok(row) => Ok((StatusCode::CREATED, Json(row.into()))),
        Err(refused @ UploadRefused::TooLarge(_)) => {
            Err(ApiError::new(ProblemKind::PayloadTooLarge, refused.to_string()))
        }
        Err(refused @ UploadRefused::UnsupportedType) => {
            Err(ApiError::new(ProblemKind::UnsupportedMediaType, refused.to_string()))
        }
    }
}

/// Download an attachment (always as a download, never rendered inline).
#[utoipa::path(get, path = "/api/v1/appeals/{id}/attachments/{attachment_id}", tag = "appeals", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Appeal id"), ("attachment_id" = Uuid, Path, description = "Attachment id")),
    responses((status = 200, description = "The file, with the type found in its first bytes",
        content(("application/pdf"), ("image/jpeg"), ("image/png"),
                ("application/vnd.openxmlformats-officedocument.wordprocessingml.document")))))]
async fn download_attachment(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((id, attachment_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (Ok(id), Ok(attachment_id)) = (id.parse::<Uuid>(), attachment_id.parse::<Uuid>()) else {
        return Err(ApiError::not_found());
    };
    let (row, bytes) = attachments::download(&app, &viewer_of(&caller), id, attachment_id).await?;
    let disposition = format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        row.file_name
            .chars()
            .map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '_' })
            .collect::<String>(),
        url::form_urlencoded::byte_serialize(row.file_name.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
    );
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    if let Ok(ct) = HeaderValue::from_str(&row.content_type) {
        headers.insert(header::CONTENT_TYPE, ct);
    }
    if let Ok(cd) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, cd);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(response)
}

/// Filters of the staff queue. Lists are comma-separated.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueParams {
    /// Statuses, comma-separated (default: every open status).
    pub status: Option<String>,
    /// `me`, `unassigned` or a user id.
    pub assignee: Option<String>,
    /// Category codes, comma-separated.
    pub category: Option<String>,
    /// Region or district codes, comma-separated.
    pub territory: Option<String>,
    /// Kinds, comma-separated.
    pub kind: Option<String>,
    /// `overdue`, `due_soon` or `on_time`.
    pub deadline: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_until: Option<DateTime<Utc>>,
    /// Words to find in the subject or text.
    pub q: Option<String>,
    /// `due` (soonest deadline first, the default) or `created` (newest first).
    pub sort: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn list_of<T>(raw: &Option<String>, field: &str, errors: &mut FieldErrors) -> Vec<T>
where
    T: std::str::FromStr,
{
    raw.as_deref()
        .map(|s| s.split(',').map(str::trim).filter(|p| !p.is_empty()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| {
            errors.take(p.parse::<T>().map_err(|_| FieldError::invalid(field, format!("'{p}' is not valid"))))
        })
        .collect()
}

/// The caller's work queue: an official's agency, a supervisor's agency and sub-agencies.
#[utoipa::path(get, path = "/api/v1/queue", tag = "appeals", security(("bearer" = [])),
    params(QueueParams),
    responses((status = 200, description = "A page of the queue", body = Page<QueueItemView>)))]
async fn work_queue(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Params(params): Params<QueueParams>,
) -> Result<Json<Page<QueueItemView>>, ApiError> {
    let paging = ListParams { limit: params.limit, cursor: params.cursor.clone() };
    let limit = paging.limit()?;
    let after = paging.cursor::<Position>()?.map(|Position(at, id)| (at, id));
    let mut errors = FieldErrors::default();
    let statuses: Vec<Status> = list_of(&params.status, "status", &mut errors);
    let kinds: Vec<AppealKind> = list_of(&params.kind, "kind", &mut errors);
    let assignee = match params.assignee.as_deref() {
        None => None,
        Some("me") => Some(Assignee::Me),
        Some("unassigned") => Some(Assignee::Unassigned),
        Some(other) => errors.take(
            other
                .parse()
                .map(Assignee::User)
                .map_err(|_| FieldError::invalid("assignee", "must be me, unassigned or a user id")),
        ),
    };
    let deadline = match params.deadline.as_deref() {
        None => None,
        Some("overdue") => Some(DeadlineFilter::Overdue),
        Some("due_soon") => Some(DeadlineFilter::DueSoon),
        Some("on_time") => Some(DeadlineFilter::OnTime),
        Some(_) => {
            errors.push(FieldError::invalid("deadline", "must be overdue, due_soon or on_time"));
            None
        }
    };
    let order = match params.sort.as_deref() {
        None | Some("due") => QueueOrder::DueAt,
        Some("created") => QueueOrder::CreatedAt,
        Some(_) => {
            errors.push(FieldError::invalid("sort", "must be due or created"));
            QueueOrder::DueAt
        }
    };
    errors.finish().map_err(ApiError::validation)?;
    let filter = QueueFilter {
        statuses,
        assignee,
        categories: list_of(&params.category, "category", &mut FieldErrors::default()),
        territories: list_of(&params.territory, "territory", &mut FieldErrors::default()),
        kinds,
        deadline,
        created_from: params.created_from,
        created_until: params.created_until,
        text: params.q,
        order,
        after,
        limit: limit + 1,
    };
    let rows = queue::queue(&app, &caller, filter).await?;
    let key = move |s: &Seen<QueueRow>| match order {
        QueueOrder::DueAt => Position(s.appeal.due_at, s.appeal.id),
        QueueOrder::CreatedAt => Position(s.appeal.created_at, s.appeal.id),
    };
    Ok(Json(Page::from_rows(rows, limit, key, QueueItemView::of)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lifecycle::Action;

    #[test]
    fn every_lifecycle_action_but_the_schedulers_has_a_path_name() {
        for action in Action::ALL {
            let name = action.as_str().replace('_', "-");
            let parsed = serde_json::from_value::<ActionName>(serde_json::Value::String(name.clone()));
            let scheduler_only = matches!(action, Action::Abandon | Action::Close);
            assert_eq!(parsed.is_ok(), !scheduler_only, "{name}");
        }
    }
}
