//! Per-request context: the request id (taken from a well-formed `x-request-id` or made
//! here), the reader's language, the tracing span every log line of the request carries,
//! and the request's metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::app::App;
use crate::domain::locale::Locale;

pub const REQUEST_ID: &str = "x-request-id";

/// What every handler and error renderer may know about the request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: String,
    pub locale: Locale,
}

/// Outermost middleware: assigns the context, runs the request inside its span, echoes the
/// request id and records the request in the metrics by matched route.
pub async fn assign(State(app): State<App>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| is_well_formed(id))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let locale = request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Locale::negotiate)
        .unwrap_or(app.settings.server.default_locale);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().clone();
    request.extensions_mut().insert(RequestContext { request_id: request_id.clone(), locale });

    let span = tracing::info_span!("request", request_id = %request_id, method = %method, route = %route);
    let mut response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::info!(status, latency_ms = elapsed.as_secs_f64() * 1000.0, "handled");
    });
    app.metrics.observe(method.as_str(), &route, status, elapsed);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// A client's id is reused only if it is short and plain, so it cannot forge log lines.
fn is_well_formed(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_short_request_ids_are_reused() {
        assert!(is_well_formed("abc-123_X.y"));
        assert!(!is_well_formed(""));
        assert!(!is_well_formed("has space"));
        assert!(!is_well_formed("line\nbreak"));
        assert!(!is_well_formed(&"a".repeat(65)));
    }
}
