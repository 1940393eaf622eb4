//! Appeals over HTTP: the lifecycle from filing to review, who may see and do what, retries
//! and races, and the limits of every field and file.

mod access;
mod concurrency;
mod journey;
mod limits;
mod queue;
