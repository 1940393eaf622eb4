//! Murojiat: case management for citizens' appeals to government.
//!
//! Dependencies point one way: `http` -> `services` -> (`domain`, `store`, `notify`);
//! `domain` depends on nothing of ours and does no I/O.

pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod http;
pub mod jurisdiction;
pub mod notify;
pub mod services;
pub mod store;
pub mod telemetry;
