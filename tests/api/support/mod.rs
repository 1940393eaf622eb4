//! What the integration tests share: servers the application talks to, started per test.

pub mod smtp_sink;
