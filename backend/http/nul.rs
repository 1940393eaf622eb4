//! The NUL character (U+0000) refused at the edge. PostgreSQL's text columns cannot hold it
//! (a query naming it fails as a whole), so a NUL that reached the store would be a 500 on
//! PostgreSQL and a stored oddity on SQLite. No address, code, name or text of ours contains
//! one, so a request that carries one is malformed: a 400 when it is in the address or the
//! query string, a 422 naming the field when it is in a JSON body.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::problem::ApiError;
use crate::domain::field::FieldError;

/// Middleware: a percent-encoded NUL anywhere in the path or query string is a 400.
pub async fn refuse_in_uri(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let encoded_nul = |part: &str| part.as_bytes().windows(3).any(|w| w == b"%00");
    if encoded_nul(uri.path()) || uri.query().is_some_and(encoded_nul) {
        return ApiError::bad_request(
            "The address contains a NUL character (%00), which nothing here can hold.",
        )
        .into_response();
    }
    next.run(request).await
}

/// The 422 for a JSON body with a NUL in one of its strings, naming the first such field;
/// `None` when there is none. Only bodies that spell `\u0000` are walked.
pub fn in_json(bytes: &[u8]) -> Option<ApiError> {
    if !bytes.windows(6).any(|w| w == b"\\u0000") {
        return None;
    }
    let value: Value = serde_json::from_slice(bytes).ok()?;
    let path = path_to_nul(&value, String::new())?;
    let field = if path.is_empty() { "body".to_owned() } else { path };
    Some(ApiError::validation(vec![FieldError::invalid(field, "must not contain the NUL character")]))
}

fn path_to_nul(value: &Value, at: String) -> Option<String> {
    match value {
        Value::String(s) => s.contains('\0').then_some(at),
        Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, item)| path_to_nul(item, format!("{at}[{i}]")))
        }
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let here = if at.is_empty() { key.clone() } else { format!("{at}.{key}") };
            if key.contains('\0') { Some(here) } else { path_to_nul(item, here) }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_in_a_json_string_is_named_by_its_path() {
        let error =
            in_json(br#"{"appeal": {"subject": "ok", "co_signers": [{"name": "a\u0000b"}]}}"#).unwrap();
        assert_eq!(error.errors[0].field, "appeal.co_signers[0].name");
        assert_eq!(in_json(br#""\u0000""#).unwrap().errors[0].field, "body");
        // An escaped backslash followed by "u0000" is six ordinary characters.
        assert!(in_json(br#"{"text": "C:\\u0000"}"#).is_none());
        assert!(in_json(br#"{"text": "plain"}"#).is_none());
    }
}
