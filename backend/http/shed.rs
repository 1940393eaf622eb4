//! Load shedding. At most `server.max_in_flight_requests` requests are worked on at once; one
//! more is answered at once with 503 and `Retry-After`, instead of waiting in memory for a
//! database connection. Past its capacity a server that queues every request grows without
//! bound and answers everyone late; one that sheds keeps its memory flat and answers the
//! requests it took on time. The health and metrics probes are never shed, so an
//! orchestrator can tell an overloaded server from a dead one.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::problem::{ApiError, ProblemKind};

/// Paths that are always served: liveness, readiness and metrics.
const PROBES: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// The permits for requests in flight.
#[derive(Clone)]
pub struct InFlight(Arc<Semaphore>);

impl InFlight {
    pub fn new(limit: usize) -> Self {
        Self(Arc::new(Semaphore::new(limit)))
    }
}

/// Runs the request while it holds a permit; without one, 503.
pub async fn limit(State(in_flight): State<InFlight>, request: Request, next: Next) -> Response {
    if PROBES.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    match in_flight.0.try_acquire_owned() {
        Ok(_permit) => next.run(request).await,
        Err(_) => ApiError {
            retry_after_secs: Some(1),
            ..ApiError::new(
                ProblemKind::Unavailable,
                "The server is working on as many requests as it can. Send the request again shortly.",
            )
        }
        .into_response(),
    }
}
