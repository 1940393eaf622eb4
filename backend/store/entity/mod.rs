//! sea-orm entities: one file per table, mirroring `migrations/`. Hand-written queries live
//! beside this folder, not in it.

pub mod account_token;
pub mod agency;
pub mod agency_territory;
pub mod appeal;
pub mod appeal_event;
pub mod appeal_stint;
pub mod attachment;
pub mod calendar_entry;
pub mod calendar_recheck;
pub mod category;
pub mod idempotency_key;
pub mod job;
pub mod outbox_message;
pub mod refresh_token;
pub mod registration_counter;
pub mod report_tally;
pub mod ruleset;
pub mod territory;
pub mod user;
