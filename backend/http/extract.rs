//! Extractors that turn a request into typed input or a problem response: a strict JSON
//! body, the authenticated caller, the client address, path ids and query strings.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::{DeserializeOwned, IgnoredAny};
use uuid::Uuid;

use super::problem::{ApiError, ProblemKind};
use crate::app::App;
use crate::config::ProxyNet;
use crate::domain::field::FieldError;
use crate::services::Caller;
use crate::store::users;

/// A JSON request body. The content type must be JSON (415), the body at most the configured
/// size (413) and well-formed (400); unknown fields are refused (400, types declare
/// `deny_unknown_fields`), and a missing or wrongly typed field is a 422 naming it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Valid<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Valid<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::new(
                ProblemKind::UnsupportedMediaType,
                "Send the body as JSON with Content-Type: application/json.",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    ProblemKind::PayloadTooLarge,
                    "The JSON body is larger than this endpoint accepts.",
                )
            } else {
                ApiError::bad_request("The request body could not be read.")
            }
        })?;
        parse_json(&bytes).map(Valid)
    }
}

/// Deserializes JSON, sorting failures into 400 (not JSON, unknown field) and 422 (a field
/// missing or of the wrong type), with the field's path.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = inner.to_string();
        // Deserializing stops at the first value of the wrong shape, before it has seen the
        // rest of the body; a body that is not JSON at all is a 400 wherever it breaks.
        let category = match inner.classify() {
            serde_json::error::Category::Data => match serde_json::from_slice::<IgnoredAny>(bytes) {
                Ok(_) => serde_json::error::Category::Data,
                Err(syntax) => return ApiError::bad_request(format!("The body is not valid JSON: {syntax}")),
            },
            other => other,
        };
        match category {
            serde_json::error::Category::Syntax
            | serde_json::error::Category::Eof
            | serde_json::error::Category::Io => {
                ApiError::bad_request(format!("The body is not valid JSON: {message}"))
            }
            serde_json::error::Category::Data if message.starts_with("unknown field") => {
                let field = message.split('`').nth(1).unwrap_or_default();
                // The path ends with the unknown field itself; name the object it is in.
                let parent = path.strip_suffix(field).unwrap_or(&path).trim_end_matches('.');
                let at = if parent.is_empty() { String::new() } else { format!(" in {parent}") };
                ApiError::bad_request(format!(
                    "Unknown field '{field}'{at}; this endpoint does not accept it."
                ))
            }
            serde_json::error::Category::Data => {
                let (field, code) = if let Some(missing) = message.strip_prefix("missing field `") {
                    let name = missing.split('`').next().unwrap_or_default();
                    let field = if path == "." { name.to_owned() } else { format!("{path}.{name}") };
                    (field, "required")
                } else {
                    (if path == "." { "body".to_owned() } else { path }, "invalid_type")
                };
                let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
                ApiError::validation(vec![FieldError::new(field, code, message)])
            }
        }
    })?;
    de.end().map_err(|_| ApiError::bad_request("The body has data after the JSON value."))?;
    if let Some(error) = super::nul::in_json(bytes) {
        return Err(error);
    }
    Ok(value)
}

/// The signed-in caller, reloaded from the database on every request so that a disabled
/// account or a changed role takes effect at once.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Caller);

impl FromRequestParts<App> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::unauthorized(false));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or_else(|| ApiError::unauthorized(true))?;
        let claims = app.tokens.verify(token, app.clock.now()).map_err(|err| {
            tracing::debug!(%err, "access token refused");
            ApiError::unauthorized(true)
        })?;
        let user = users::by_id(app.db.conn(), claims.sub)
            .await
            .map_err(|e| ApiError::from(crate::services::ServiceError::from(e)))?;
        let caller = user.as_ref().and_then(Caller::of).ok_or_else(|| ApiError::unauthorized(true))?;
        Ok(Authenticated(caller))
    }
}

/// The client's network address, the key for per-address rate limits and guests'
/// idempotency keys: the TCP peer, or behind a trusted proxy the client it names.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl FromRequestParts<App> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            return Ok(ClientAddr("unknown".to_owned()));
        };
        let forwarded = parts.headers.get_all(X_FORWARDED_FOR).iter().filter_map(|v| v.to_str().ok());
        let client = client_address(peer.ip(), forwarded, &app.settings.server.trusted_proxies);
        Ok(ClientAddr(client.to_string()))
    }
}

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// Who sent a request that reached us from `peer` with the `X-Forwarded-For` header lines
/// `forwarded`: the peer itself unless it is a trusted proxy; else, reading the addresses
/// the proxies appended from the last back, the first that is not a trusted proxy (what a
/// client wrote into the header itself comes before its own address, so it is never read).
/// An entry that is not an address ends the walk at the last trusted hop.
pub fn client_address<'a>(
    peer: IpAddr,
    forwarded: impl Iterator<Item = &'a str>,
    trusted: &[ProxyNet],
) -> IpAddr {
    let is_trusted = |addr: &IpAddr| trusted.iter().any(|net| net.contains(addr));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded.flat_map(|line| line.split(',')).map(str::trim).collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Ok(addr) = hop.parse::<IpAddr>() else { break };
        client = addr;
        if !is_trusted(&addr) {
            break;
        }
    }
    client
}

/// An id in the path. A malformed id cannot name anything, so it is a 404 like an unknown one.
#[derive(Debug, Clone, Copy)]
pub struct PathId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) =
            Path::<String>::from_request_parts(parts, state).await.map_err(|_| ApiError::not_found())?;
        raw.parse().map(PathId).map_err(|_| ApiError::not_found())
    }
}

/// A query string; one that does not parse is a 400 naming the problem.
#[derive(Debug, Clone, Default)]
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Params(v))
            .map_err(|e| ApiError::bad_request(format!("The query string is invalid: {}", e.body_text())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        count: u32,
    }

    fn nets(raw: &[&str]) -> Vec<ProxyNet> {
        raw.iter().map(|n| ProxyNet::try_from((*n).to_owned()).unwrap()).collect()
    }

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    #[test]
    fn the_client_behind_trusted_proxies_is_the_last_address_they_did_not_add_themselves() {
        let trusted = nets(&["127.0.0.1", "10.0.0.0/8"]);
        let client = |peer: &str, lines: &[&str]| client_address(ip(peer), lines.iter().copied(), &trusted);
        // No proxy: the peer, whatever the header says.
        assert_eq!(client("203.0.113.9", &["198.51.100.1"]), ip("203.0.113.9"));
        assert_eq!(client("203.0.113.9", &[]), ip("203.0.113.9"));
        // One proxy: the address it appended.
        assert_eq!(client("127.0.0.1", &["198.51.100.1"]), ip("198.51.100.1"));
        // A client's own header comes first and is never read; two proxies, two lines.
        assert_eq!(client("127.0.0.1", &["6.6.6.6, 198.51.100.1, 10.1.2.3"]), ip("198.51.100.1"));
        assert_eq!(client("127.0.0.1", &["6.6.6.6", "198.51.100.1 , 10.1.2.3"]), ip("198.51.100.1"));
        // Only proxies: the first of them; garbage: the last proxy before it; none: the peer.
        assert_eq!(client("127.0.0.1", &["10.9.9.9, 10.1.2.3"]), ip("10.9.9.9"));
        assert_eq!(client("127.0.0.1", &["198.51.100.1, not-an-address"]), ip("127.0.0.1"));
        assert_eq!(client("127.0.0.1", &["198.51.100.1, 2001:db8::7"]), ip("2001:db8::7"));
        assert_eq!(client("127.0.0.1", &[]), ip("127.0.0.1"));
        // Trusting nobody reads no header.
        assert_eq!(client_address(ip("127.0.0.1"), ["198.51.100.1"].into_iter(), &[]), ip("127.0.0.1"));
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        assert!(nets(&["::1"])[0].contains(&ip("::1")));
        assert!(nets(&["192.168.0.0/16"])[0].contains(&ip("192.168.4.2")));
        assert!(!nets(&["192.168.0.0/16"])[0].contains(&ip("192.169.0.1")));
        for bad in ["", "proxy.example.tj", "10.0.0.0/33", "10.0.0"] {
            assert!(ProxyNet::try_from(bad.to_owned()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn json_failures_are_sorted_into_400_and_422() {
        assert_eq!(parse_json::<Sample>(b"{not json").unwrap_err().kind, ProblemKind::BadRequest);
        let unknown = parse_json::<Sample>(br#"{"name":"a","count":1,"role":"admin"}"#).unwrap_err();
        assert_eq!(unknown.kind, ProblemKind::BadRequest);
        assert!(unknown.detail.contains("'role'"), "{}", unknown.detail);
        assert!(!unknown.detail.contains(" in "), "a top-level field is in no object: {}", unknown.detail);
        let missing = parse_json::<Sample>(br#"{"name":"a"}"#).unwrap_err();
        assert_eq!(missing.kind, ProblemKind::Validation);
        assert_eq!(missing.errors[0].field, "count");
        assert_eq!(missing.errors[0].code, "required");
        let typed = parse_json::<Sample>(br#"{"name":"a","count":"many"}"#).unwrap_err();
        assert_eq!(typed.errors[0].field, "count");
        assert_eq!(typed.errors[0].code, "invalid_type");
        // Broken JSON is a 400 even where a well-formed prefix already has the wrong shape.
        assert_eq!(
            parse_json::<Sample>(br#"{"name":"a","count":"many""#).unwrap_err().kind,
            ProblemKind::BadRequest
        );
        assert_eq!(parse_json::<Sample>(b"[1, 2").unwrap_err().kind, ProblemKind::BadRequest);
        assert_eq!(
            parse_json::<Sample>(br#"{"name":"a","count":1} trailing"#).unwrap_err().kind,
            ProblemKind::BadRequest
        );
    }
}
