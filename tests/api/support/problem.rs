//! Checks that an error response is an RFC 9457 problem in Murojiat's shape.

use reqwest::Response;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// A problem response, taken apart for further assertions.
#[derive(Debug)]
pub struct Problem {
    pub headers: HeaderMap,
    pub body: Value,
}

impl Problem {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The fields named in a 422's `errors` list.
    pub fn error_fields(&self) -> Vec<&str> {
        self.body["errors"]
            .as_array()
            .map(|errors| errors.iter().filter_map(|e| e["field"].as_str()).collect())
            .unwrap_or_default()
    }

    /// The code of the `errors` entry for `field`.
    pub fn error_code(&self, field: &str) -> Option<&str> {
        self.body["errors"].as_array()?.iter().find(|e| e["field"] == field)?["code"].as_str()
    }
}

/// Asserts the status, the `application/problem+json` content type, the `type` URI
/// `/problems/<slug>`, a non-empty `title`, the `status` member, and that `instance` and
/// `request_id` name the request as the `x-request-id` header does.
pub async fn assert_problem(response: Response, status: u16, slug: &str) -> Problem {
    let headers = response.headers().clone();
    let actual = response.status().as_u16();
    let text = response.text().await.expect("a body");
    assert_eq!(actual, status, "expected {status} {slug}, got {actual}: {text}");
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert_eq!(content_type, "application/problem+json", "content type of {text}");
    let body: Value = serde_json::from_str(&text).expect("problem+json is JSON");
    assert_eq!(body["type"], format!("/problems/{slug}"), "{body}");
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()), "a title: {body}");
    assert!(body["detail"].as_str().is_some_and(|t| !t.is_empty()), "a detail: {body}");
    assert_eq!(body["status"], status, "{body}");
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).expect("x-request-id header");
    assert_eq!(body["request_id"], request_id, "{body}");
    assert!(body["instance"].as_str().is_some_and(|i| i.ends_with(request_id)), "{body}");
    Problem { headers, body }
}
