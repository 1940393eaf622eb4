//! Pure domain logic: no I/O, no database, no clock of its own.

pub mod appeal;
pub mod field;
pub mod locale;
pub mod role;
pub mod routing;
