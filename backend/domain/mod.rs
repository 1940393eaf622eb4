//! Pure domain logic: no I/O, no database, no clock of its own.

pub mod access;
pub mod account;
pub mod appeal;
pub mod calendar;
pub mod deadline;
pub mod field;
pub mod lifecycle;
pub mod locale;
pub mod report;
pub mod role;
pub mod routing;
pub mod submission;
pub mod tracking;
