//! Black-box tests of the HTTP API. Each test starts the real server on port 0 with its own
//! database (see support/), talks HTTP to it and reads like a line of the specification.

mod accounts;
mod admin;
mod audit;
mod demo_seed;
mod errors;
mod notify_smtp;
mod operations;
mod reference;
mod support;
mod tokens;
