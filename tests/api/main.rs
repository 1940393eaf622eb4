//! The integration test binary: every integration test is a module here, so they link once.

mod notify_smtp;
mod support;
