//! Keyset pagination, the same on every list: `?limit=` (default 20, at most 100) and
//! `?cursor=` from the previous page's `next_cursor`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::problem::ApiError;
use crate::domain::field::FieldError;

pub const DEFAULT_LIMIT: u64 = 20;
pub const MAX_LIMIT: u64 = 100;

/// The query parameters of every list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListParams {
    /// The page size, or a 422 naming `limit`.
    pub fn limit(&self) -> Result<u64, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::validation(vec![FieldError::new(
                "limit",
                "out_of_range",
                format!("must be between 1 and {MAX_LIMIT}"),
            )])),
        }
    }

    /// The decoded cursor, or a 422 naming `cursor` when it was not made by us (which a NUL
    /// inside shows as surely as bad base64: see [`super::nul`]).
    pub fn cursor<K: for<'de> Deserialize<'de>>(&self) -> Result<Option<K>, ApiError> {
        let Some(raw) = &self.cursor else { return Ok(None) };
        URL_SAFE_NO_PAD
            .decode(raw)
            .ok()
            .filter(|bytes| super::nul::in_json(bytes).is_none())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .map(Some)
            .ok_or_else(|| {
                ApiError::validation(vec![FieldError::new(
                    "cursor",
                    "invalid",
                    "is not a cursor from a previous page",
                )])
            })
    }
}

/// One page of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only says there is more.
    pub fn from_rows<R, K: Serialize>(
        mut rows: Vec<R>,
        limit: u64,
        key: impl Fn(&R) -> K,
        view: impl Fn(R) -> T,
    ) -> Self {
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(|last| encode_cursor(&key(last))) } else { None };
        Page { items: rows.into_iter().map(view).collect(), next_cursor }
    }
}

fn encode_cursor<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_carries_a_cursor_only_when_more_rows_exist() {
        let page = Page::from_rows(vec![1, 2, 3], 2, |n| *n, |n| n * 10);
        assert_eq!(page.items, vec![10, 20]);
        let params = ListParams { limit: Some(2), cursor: page.next_cursor };
        assert_eq!(params.cursor::<i32>().unwrap(), Some(2));
        let last = Page::from_rows(vec![1, 2], 2, |n| *n, |n| n);
        assert!(last.next_cursor.is_none());
    }

    #[test]
    fn limits_outside_one_to_a_hundred_and_foreign_cursors_are_refused() {
        assert!(ListParams { limit: Some(0), cursor: None }.limit().is_err());
        assert!(ListParams { limit: Some(101), cursor: None }.limit().is_err());
        assert_eq!(ListParams::default().limit().unwrap(), 20);
        assert!(ListParams { limit: None, cursor: Some("!!".into()) }.cursor::<i32>().is_err());
        let nul = URL_SAFE_NO_PAD.encode(br#""\u0000""#);
        assert!(ListParams { limit: None, cursor: Some(nul) }.cursor::<String>().is_err());
    }
}
