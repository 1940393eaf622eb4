//! Black-box tests of the HTTP API. Each test starts the real server on port 0 with its own
//! database (see support/), talks HTTP to it and reads like a line of the specification.

mod account_mail;
mod accounts;
mod admin;
mod appeals;
mod attacks;
mod audit;
mod bulk;
mod calendar;
mod contract;
mod deferred;
mod demo_seed;
mod errors;
mod jobs;
mod notify_smtp;
mod operations;
mod outbox;
mod reference;
mod reports;
mod rulesets;
mod scheduler;
mod support;
mod tokens;
