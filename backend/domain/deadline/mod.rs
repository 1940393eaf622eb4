//! Deadline arithmetic: when an appeal is due, and the policy settings that decide it.

mod policy;

pub use policy::{
    DayCount, DeadlinePolicies, DeadlinePolicy, InvalidReminderOffset, MAX_PERIOD_DAYS, PolicyError, ReminderOffset,
};
