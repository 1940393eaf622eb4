//! sea-orm entities: one file per table, mirroring `migrations/`. Hand-written queries live
//! beside this folder, not in it.

pub mod agency;
pub mod refresh_token;
pub mod user;
