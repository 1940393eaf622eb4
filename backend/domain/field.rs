//! Field-level validation failures, produced when raw input is parsed into domain types.
//! The HTTP layer turns a list of them into a 422 problem with an `errors` array.

use serde::Serialize;

/// One field that failed to parse. `code` is stable and machine-readable; `message` is
/// English for logs and developers (the HTTP layer localizes titles, not field messages).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self { field: field.into(), code, message: message.into() }
    }

    pub fn empty(field: impl Into<String>) -> Self {
        Self::new(field, "empty", "must not be empty")
    }

    pub fn too_long(field: impl Into<String>, max_chars: usize) -> Self {
        Self::new(field, "too_long", format!("must be at most {max_chars} characters"))
    }

    pub fn too_short(field: impl Into<String>, min_chars: usize) -> Self {
        Self::new(field, "too_short", format!("must be at least {min_chars} characters"))
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(field, "invalid", message)
    }

    pub fn unknown(field: impl Into<String>, what: &str) -> Self {
        Self::new(field, "unknown", format!("no such {what}"))
    }

    /// The same error reported under another field name (where the value sits in a request).
    pub fn at(self, field: impl Into<String>) -> Self {
        Self { field: field.into(), ..self }
    }
}

/// Collects field errors so a request reports every bad field at once, not just the first.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// Keeps the value when the parse succeeded, records the error otherwise.
    pub fn take<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(error);
                None
            }
        }
    }

    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing failed, the collected errors otherwise.
    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() { Ok(()) } else { Err(self.0) }
    }
}
