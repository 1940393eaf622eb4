//! Murojiat: case management for citizens' appeals to government.
//!
//! Dependencies point one way: `http` -> `services` -> (`domain`, `store`, `notify`);
//! `domain` depends on nothing of ours and does no I/O.

pub mod domain;
pub mod notify;
