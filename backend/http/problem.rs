//! RFC 9457 problem details: the one place that knows HTTP status codes and the
//! `application/problem+json` shape. Handlers return [`ApiError`]; the `finalize` middleware
//! renders every error response (ours and the framework's) with a localized title and the
//! request id, so no route can answer an error in another shape.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::context::RequestContext;
use crate::domain::field::FieldError;
use crate::domain::locale::Locale;
use crate::services::ServiceError;
use crate::store::StoreError;

/// The kinds of problem the API reports. Each has a stable `type` URI and a title in every
/// supported language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    BadRequest,
    Unauthorized,
    InvalidCredentials,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    Conflict,
    PreconditionFailed,
    PreconditionRequired,
    PayloadTooLarge,
    UnsupportedMediaType,
    Validation,
    RateLimited,
    Internal,
    Unavailable,
}

impl ProblemKind {
    pub const ALL: &'static [ProblemKind] = &[
        Self::BadRequest,
        Self::Unauthorized,
        Self::InvalidCredentials,
        Self::Forbidden,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::RequestTimeout,
        Self::Conflict,
        Self::PreconditionFailed,
        Self::PreconditionRequired,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::Validation,
        Self::RateLimited,
        Self::Internal,
        Self::Unavailable,
    ];

    pub const fn status(self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Unauthorized | Self::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Conflict => StatusCode::CONFLICT,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The last segment of the `type` URI; stable forever once published.
    pub const fn slug(self) -> &'static str {
        match self {
            Self::BadRequest => "bad-request",
            Self::Unauthorized => "unauthorized",
            Self::InvalidCredentials => "invalid-credentials",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::RequestTimeout => "request-timeout",
            Self::Conflict => "conflict",
            Self::PreconditionFailed => "precondition-failed",
            Self::PreconditionRequired => "precondition-required",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::Validation => "validation",
            Self::RateLimited => "rate-limited",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
        }
    }

    /// The `type` member: a relative URI under `/problems/`, documented in docs/api.md.
    pub fn type_uri(self) -> String {
        format!("/problems/{}", self.slug())
    }

    /// The short, human title in the reader's language.
    pub const fn title(self, locale: Locale) -> &'static str {
        use Locale::{En, Ru, Tg};
        match (self, locale) {
            (Self::BadRequest, Tg) => "Дархости нодуруст",
            (Self::BadRequest, Ru) => "Некорректный запрос",
            (Self::BadRequest, En) => "Malformed request",
            (Self::Unauthorized, Tg) => "Ворид шудан лозим аст",
            (Self::Unauthorized, Ru) => "Требуется вход в систему",
            (Self::Unauthorized, En) => "Authentication required",
            (Self::InvalidCredentials, Tg) => "Почтаи электронӣ ё рамз нодуруст аст",
            (Self::InvalidCredentials, Ru) => "Неверный адрес электронной почты или пароль",
            (Self::InvalidCredentials, En) => "Wrong email or password",
            (Self::Forbidden, Tg) => "Иҷозат дода нашудааст",
            (Self::Forbidden, Ru) => "Действие запрещено",
            (Self::Forbidden, En) => "Not allowed",
            (Self::NotFound, Tg) => "Ёфт нашуд",
            (Self::NotFound, Ru) => "Не найдено",
            (Self::NotFound, En) => "Not found",
            (Self::MethodNotAllowed, Tg) => "Ин усул дастгирӣ намешавад",
            (Self::MethodNotAllowed, Ru) => "Метод не поддерживается",
            (Self::MethodNotAllowed, En) => "Method not allowed",
            (Self::RequestTimeout, Tg) => "Вақти интизорӣ ба охир расид",
            (Self::RequestTimeout, Ru) => "Время ожидания истекло",
            (Self::RequestTimeout, En) => "Request timed out",
            (Self::Conflict, Tg) => "Бо ҳолати ҷорӣ мувофиқат намекунад",
            (Self::Conflict, Ru) => "Конфликт с текущим состоянием",
            (Self::Conflict, En) => "Conflict with the current state",
            (Self::PreconditionFailed, Tg) => "Маълумот аллакай тағйир ёфтааст",
            (Self::PreconditionFailed, Ru) => "Данные уже изменились",
            (Self::PreconditionFailed, En) => "The resource has changed",
            (Self::PreconditionRequired, Tg) => "Версияи маълумот нишон дода нашудааст",
            (Self::PreconditionRequired, Ru) => "Не указана версия данных",
            (Self::PreconditionRequired, En) => "Version required",
            (Self::PayloadTooLarge, Tg) => "Ҳаҷми дархост аз ҳад зиёд аст",
            (Self::PayloadTooLarge, Ru) => "Слишком большой запрос",
            (Self::PayloadTooLarge, En) => "Request body too large",
            (Self::UnsupportedMediaType, Tg) => "Навъи мундариҷа дастгирӣ намешавад",
            (Self::UnsupportedMediaType, Ru) => "Неподдерживаемый тип содержимого",
            (Self::UnsupportedMediaType, En) => "Unsupported content type",
            (Self::Validation, Tg) => "Маълумот нодуруст пур карда шудааст",
            (Self::Validation, Ru) => "Данные заполнены неверно",
            (Self::Validation, En) => "Invalid input",
            (Self::RateLimited, Tg) => "Дархостҳо аз ҳад зиёданд",
            (Self::RateLimited, Ru) => "Слишком много запросов",
            (Self::RateLimited, En) => "Too many requests",
            (Self::Internal, Tg) => "Хатои дохилии система",
            (Self::Internal, Ru) => "Внутренняя ошибка",
            (Self::Internal, En) => "Internal error",
            (Self::Unavailable, Tg) => "Хизматрасонӣ муваққатан дастнорас аст",
            (Self::Unavailable, Ru) => "Сервис временно недоступен",
            (Self::Unavailable, En) => "Service temporarily unavailable",
        }
    }

    fn for_status(status: StatusCode) -> Self {
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.status() == status && *k != Self::InvalidCredentials)
            .unwrap_or(if status.is_server_error() { Self::Internal } else { Self::BadRequest })
    }
}

/// An error a handler returns. Everything needed to render it, except the reader's
/// language and the request id, which the middleware adds.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub kind: ProblemKind,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub retry_after_secs: Option<u64>,
    pub www_authenticate: Option<&'static str>,
}

impl ApiError {
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after_secs: None,
            www_authenticate: None,
        }
    }

    pub fn not_found() -> Self {
        Self::new(ProblemKind::NotFound, "There is nothing at this address, or you may not see it.")
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::BadRequest, detail)
    }

    /// A 401 telling the client to authenticate; `invalid` is true when a token was sent but
    /// refused.
    pub fn unauthorized(invalid: bool) -> Self {
        let mut error = Self::new(
            ProblemKind::Unauthorized,
            if invalid {
                "The access token is invalid or expired."
            } else {
                "Send an access token: Authorization: Bearer <token>."
            },
        );
        error.www_authenticate = Some(if invalid {
            r#"Bearer realm="murojiat", error="invalid_token""#
        } else {
            r#"Bearer realm="murojiat""#
        });
        error
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{one}"),
            many => format!("{} fields are invalid.", many.len()),
        };
        Self { errors, ..Self::new(ProblemKind::Validation, detail) }
    }
}

/// The JSON body of a problem response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem, stable across releases.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short summary in the language of `Accept-Language` (tg, ru or en).
    pub title: String,
    pub status: u16,
    /// What went wrong with this request, in English.
    pub detail: String,
    /// Identifies this request: quote it when reporting a problem.
    pub instance: String,
    /// The request id, as in the `x-request-id` response header.
    pub request_id: String,
    /// For 422: each invalid field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<FieldProblem>)]
    pub errors: Vec<FieldError>,
}

/// One invalid field of a 422 problem.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldProblem {
    /// The field's name or JSON path.
    pub field: String,
    /// A machine-readable reason: `required`, `too_long`, `invalid`, `unknown`, ...
    pub code: String,
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.kind.status().into_response();
        response.extensions_mut().insert(self);
        response
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Invalid(errors) => ApiError::validation(errors),
            ServiceError::NotFound => ApiError::not_found(),
            ServiceError::Conflict(detail) => ApiError::new(ProblemKind::Conflict, detail),
            ServiceError::BadCredentials => {
                ApiError::new(ProblemKind::InvalidCredentials, "The email or the password is wrong.")
            }
            ServiceError::SessionExpired => {
                let mut e = ApiError::unauthorized(true);
                e.detail = "The session has ended; sign in again.".into();
                e
            }
            ServiceError::Forbidden => ApiError::new(ProblemKind::Forbidden, "Your role may not do this."),
            ServiceError::EmailUnconfirmed => ApiError::new(
                ProblemKind::Forbidden,
                "Confirm your email address first: open the link we sent you, or ask for a new one \
                 with POST /api/v1/me/verify-email.",
            ),
            ServiceError::RateLimited { retry_after_secs } => ApiError {
                retry_after_secs: Some(retry_after_secs),
                ..ApiError::new(ProblemKind::RateLimited, format!("Try again in {retry_after_secs} seconds."))
            },
            ServiceError::Refused { status, action, allowed } => {
                let allowed = if allowed.is_empty() { "nothing".to_owned() } else { allowed.join(", ") };
                ApiError::new(
                    ProblemKind::Conflict,
                    format!(
                        "The appeal is {status}: '{}' is not possible now. Allowed now: {allowed}.",
                        action.replace('_', "-")
                    ),
                )
            }
            ServiceError::Stale { current } => ApiError::new(
                ProblemKind::PreconditionFailed,
                format!(
                    "Someone changed the appeal since you read it; it is now at version {current}. Reload and try again."
                ),
            ),
            ServiceError::VersionRequired => ApiError::new(
                ProblemKind::PreconditionRequired,
                "Send the appeal's ETag as If-Match (or its version in the body).",
            ),
            ServiceError::Store(StoreError::Conflict(_)) => {
                ApiError::new(ProblemKind::Conflict, "Something with the same unique value already exists.")
            }
            ServiceError::Store(StoreError::NotFound) => ApiError::not_found(),
            // The services check what a request names before writing, so a foreign key only
            // refuses a write that raced another: what it names was deleted meanwhile, or
            // something came to refer to what it deletes. The state changed; nothing was
            // written.
            ServiceError::Store(StoreError::MissingReference(_)) => ApiError::new(
                ProblemKind::Conflict,
                "Something the request refers to was removed meanwhile, or something still refers to \
                 what it removes. Reload and try again.",
            ),
            // The database is restarting or unreachable: the request may be sent again as it
            // is (with the same Idempotency-Key), so say so instead of a 500.
            ServiceError::Store(store) if store.is_unavailable() => {
                tracing::warn!(error = %store, "database unavailable");
                ApiError {
                    retry_after_secs: Some(1),
                    ..ApiError::new(
                        ProblemKind::Unavailable,
                        "The database is busy or unreachable for a moment. Send the request again shortly.",
                    )
                }
            }
            other => {
                // Logged with the request id by the middleware's span; never sent.
                tracing::error!(error = %other, "internal error");
                ApiError::new(
                    ProblemKind::Internal,
                    "Something went wrong on our side. Quote the request id if you report it.",
                )
            }
        }
    }
}

/// Renders every error response as problem+json: our own [`ApiError`]s, and the bare error
/// responses the framework and middleware produce (405, 413, 408, ...).
pub async fn finalize(request: Request, next: Next) -> Response {
    let context = request.extensions().get::<RequestContext>().cloned();
    let mut response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let error = match response.extensions_mut().remove::<ApiError>() {
        Some(error) => error,
        None if is_problem(&response) => return response,
        None => fallback_error(status),
    };
    let Some(context) = context else { return response };
    render(error, &context, response)
}

fn is_problem(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|ct| ct.as_bytes().starts_with(b"application/problem+json"))
}

fn fallback_error(status: StatusCode) -> ApiError {
    let kind = ProblemKind::for_status(status);
    let detail = match kind {
        ProblemKind::MethodNotAllowed => "This address does not accept that method; see the Allow header.",
        ProblemKind::PayloadTooLarge => "The request body is larger than this endpoint accepts.",
        ProblemKind::RequestTimeout => "The request took too long and was abandoned.",
        ProblemKind::NotFound => "There is nothing at this address, or you may not see it.",
        ProblemKind::Internal => "Something went wrong on our side. Quote the request id if you report it.",
        _ => "The request could not be handled.",
    };
    ApiError::new(kind, detail)
}

fn render(error: ApiError, context: &RequestContext, original: Response) -> Response {
    let kind = error.kind;
    let body = Problem {
        type_uri: kind.type_uri(),
        title: kind.title(context.locale).to_owned(),
        status: kind.status().as_u16(),
        detail: error.detail,
        instance: format!("urn:murojiat:request:{}", context.request_id),
        request_id: context.request_id.clone(),
        errors: error.errors,
    };
    let json = serde_json::to_vec(&body).unwrap_or_default();
    let (mut parts, _) = original.into_parts();
    parts.status = kind.status();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    parts.headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(context.locale.as_str()));
    if let Some(secs) = error.retry_after_secs {
        parts.headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if let Some(challenge) = error.www_authenticate {
        parts.headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    }
    Response::from_parts(parts, Body::from(json))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_type_and_a_title_in_every_language() {
        let mut slugs: Vec<_> = ProblemKind::ALL.iter().map(|k| k.slug()).collect();
        slugs.sort();
        slugs.dedup();
        assert_eq!(slugs.len(), ProblemKind::ALL.len());
        for kind in ProblemKind::ALL {
            for locale in Locale::ALL {
                assert!(!kind.title(*locale).is_empty());
            }
            assert_ne!(kind.title(Locale::Tg), kind.title(Locale::En));
        }
    }

    #[test]
    fn a_foreign_key_refusal_is_a_conflict_not_an_internal_error() {
        let refused = ServiceError::Store(StoreError::MissingReference("appeals_agency_id_fkey".into()));
        let error = ApiError::from(refused);
        assert_eq!(error.kind.status(), StatusCode::CONFLICT);
        assert!(!error.detail.contains("fkey"), "the constraint's name is not for the client");
    }
}
