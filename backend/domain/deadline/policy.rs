//! Deadline policies: every number and rule of the appeals law that the deadline arithmetic
//! needs, read from configuration (config/deadlines.toml) or the database, never hard-coded.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

/// The longest period, extension or window a policy may set, in days (ten years): far
/// beyond any appeals law, and small enough that counting it stays instant.
pub const MAX_PERIOD_DAYS: u32 = 3650;

/// Which days a period counts. Written as `"calendar"` or `"working"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayCount {
    /// Every day counts; the last day may then roll to a working day.
    Calendar,
    /// Only working days of the business calendar count.
    Working,
}

impl DayCount {
    /// The name used in policy files and the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            DayCount::Calendar => "calendar",
            DayCount::Working => "working",
        }
    }
}

/// When a reminder fires, relative to the deadline it warns of. Either on a working day
/// before the last day, at the start of the office day (`"<n>wd"`: the n-th working day
/// before the last day, `"0wd"` the last day itself, at the policy's `reminder_time`), so
/// it reaches an official in working hours; or an exact duration before the due instant,
/// written as a whole number of days, hours or minutes (`"3d"`, `"12h"`, `"30m"`; a day here
/// is 24 hours). A duration is always positive; neither is over [`MAX_PERIOD_DAYS`] days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ReminderOffset {
    /// The n-th working day before the last day, at the policy's reminder time.
    WorkingDays(u32),
    /// Exactly this many minutes before the due instant.
    Before { minutes: u32 },
}

const MINUTES_PER_HOUR: u32 = 60;
const MINUTES_PER_DAY: u32 = 24 * MINUTES_PER_HOUR;

impl ReminderOffset {
    /// Parses `"<n>wd"` (n from 0), or `"<n>d"`, `"<n>h"` or `"<n>m"` (n from 1), each with
    /// `n` a whole number.
    pub fn parse(raw: &str) -> Result<Self, InvalidReminderOffset> {
        let invalid = || InvalidReminderOffset(raw.to_owned());
        let text = raw.trim();
        if let Some(number) = text.strip_suffix("wd") {
            let days: u32 = number.parse().map_err(|_| invalid())?;
            return if days <= MAX_PERIOD_DAYS { Ok(Self::WorkingDays(days)) } else { Err(invalid()) };
        }
        let split = text.len().checked_sub(1).ok_or_else(invalid)?;
        let (number, unit) = text.split_at_checked(split).ok_or_else(invalid)?;
        let per_unit: u32 = match unit {
            "d" => MINUTES_PER_DAY,
            "h" => MINUTES_PER_HOUR,
            "m" => 1,
            _ => return Err(invalid()),
        };
        let count: u32 = number.parse().map_err(|_| invalid())?;
        let minutes = count.checked_mul(per_unit).ok_or_else(invalid)?;
        if minutes == 0 || minutes > MAX_PERIOD_DAYS * MINUTES_PER_DAY {
            return Err(invalid());
        }
        Ok(Self::Before { minutes })
    }
}

impl fmt::Display for ReminderOffset {
    /// Writes working days as `"3wd"`, a duration in the largest unit that divides it:
    /// `4320` minutes is `"3d"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::WorkingDays(days) => write!(f, "{days}wd"),
            Self::Before { minutes: m } if m.is_multiple_of(MINUTES_PER_DAY) => {
                write!(f, "{}d", m / MINUTES_PER_DAY)
            }
            Self::Before { minutes: m } if m.is_multiple_of(MINUTES_PER_HOUR) => {
                write!(f, "{}h", m / MINUTES_PER_HOUR)
            }
            Self::Before { minutes: m } => write!(f, "{m}m"),
        }
    }
}

impl TryFrom<String> for ReminderOffset {
    type Error = InvalidReminderOffset;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<ReminderOffset> for String {
    fn from(offset: ReminderOffset) -> Self {
        offset.to_string()
    }
}

/// A reminder offset that is not `"<n>wd"`, `"<n>d"`, `"<n>h"` or `"<n>m"` within range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{0}' is not a reminder offset such as \"1wd\" (working days before the last day), \"3d\", \"12h\" or \"30m\" (at most {MAX_PERIOD_DAYS} days)"
)]
pub struct InvalidReminderOffset(pub String);

/// One deadline policy: how long an agency has to consider an appeal and every rule around
/// that period. Routing picks a policy by name; the functions of [`crate::domain::deadline`]
/// apply it.
///
/// Every function that takes a policy is total: any field values give a defined result.
/// Policies parsed by [`DeadlinePolicies::from_toml`] are also sane (see there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlinePolicy {
    /// The policy's name (`standard`, `study`); in the TOML file, the table's key.
    #[serde(default)]
    pub name: String,
    /// The consideration period, counted from the day after registration.
    pub period_days: u32,
    /// Whether the period (and an extension, the citizen's reply time and the contest
    /// window) counts calendar or working days.
    pub day_count: DayCount,
    /// When the last day of a calendar-day period is a day off, end on the next working day
    /// instead. Optional in files; defaults to true (the civil-code rule).
    #[serde(default = "yes")]
    pub roll_to_working_day: bool,
    /// The longest single extension, counted like the period.
    pub max_extension_days: u32,
    /// How many extensions may be granted in all.
    pub max_extensions: u32,
    /// When to remind before the due instant. Optional; defaults to none.
    #[serde(default)]
    pub reminders: Vec<ReminderOffset>,
    /// The local time of day at which a working-day reminder (`"<n>wd"`) fires: the start
    /// of the office day. Optional; defaults to 09:00.
    #[serde(default = "nine_o_clock")]
    pub reminder_time: NaiveTime,
    /// Whether the clock stops while the appeal awaits the citizen's answer. Optional;
    /// defaults to true.
    #[serde(default = "yes")]
    pub pause_while_awaiting_citizen: bool,
    /// How long an agency that is not competent has to forward the appeal.
    pub forwarding_window_days: u32,
    /// Whether the forwarding window counts calendar or working days. Optional; defaults to
    /// working days.
    #[serde(default = "working")]
    pub forwarding_day_count: DayCount,
    /// Whether forwarding restarts the period at the receiving agency (true) or keeps the
    /// original registration date (false).
    pub forwarding_restarts_deadline: bool,
    /// How long the citizen has to answer a request for information before the appeal is
    /// closed as abandoned, counted like the period.
    pub citizen_reply_days: u32,
    /// How long after the answer the citizen may contest it, counted like the period.
    pub contest_window_days: u32,
    /// An open appeal is "due soon" when at most this many working days remain before its
    /// due date.
    pub due_soon_days: u32,
}

fn yes() -> bool {
    true
}

fn nine_o_clock() -> NaiveTime {
    NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN)
}

fn working() -> DayCount {
    DayCount::Working
}

/// Every configured policy, by name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct DeadlinePolicies {
    policies: BTreeMap<String, DeadlinePolicy>,
}

/// Why a policy file was refused. Each variant names the policy and field at fault; syntax
/// errors carry the TOML parser's line and column.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Not valid TOML, or a field is missing, unknown or of the wrong type.
    #[error("deadline policies: {0}")]
    Syntax(#[from] toml::de::Error),
    /// The file defines no `[policy.<name>]` table.
    #[error("deadline policies: no [policy.<name>] table")]
    Empty,
    /// A `name` field that disagrees with the table's key.
    #[error("deadline policy '{key}': name '{name}' differs from the table's key")]
    NameMismatch { key: String, name: String },
    /// A number outside its allowed range.
    #[error("deadline policy '{policy}': {field} must be between {min} and {max}, not {value}")]
    OutOfRange { policy: String, field: &'static str, value: u32, min: u32, max: u32 },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    policy: BTreeMap<String, DeadlinePolicy>,
}

impl DeadlinePolicies {
    /// Parses a file of `[policy.<name>]` tables (config/deadlines.toml). Refuses a file
    /// with no policy, and any policy whose period, windows or extension length is 0 or
    /// above [`MAX_PERIOD_DAYS`], or whose `due_soon_days` exceeds [`MAX_PERIOD_DAYS`].
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        let file: PolicyFile = toml::from_str(text)?;
        if file.policy.is_empty() {
            return Err(PolicyError::Empty);
        }
        let mut policies = BTreeMap::new();
        for (key, mut policy) in file.policy {
            if !policy.name.is_empty() && policy.name != key {
                return Err(PolicyError::NameMismatch { key, name: policy.name });
            }
            policy.name.clone_from(&key);
            check_ranges(&policy)?;
            policies.insert(key, policy);
        }
        Ok(Self { policies })
    }

    /// The policy called `name`.
    pub fn get(&self, name: &str) -> Option<&DeadlinePolicy> {
        self.policies.get(name)
    }

    /// Every policy, by name in order.
    pub fn iter(&self) -> impl Iterator<Item = &DeadlinePolicy> {
        self.policies.values()
    }
}

fn check_ranges(policy: &DeadlinePolicy) -> Result<(), PolicyError> {
    let checks: [(&'static str, u32, u32); 6] = [
        ("period_days", policy.period_days, 1),
        ("max_extension_days", policy.max_extension_days, 0),
        ("forwarding_window_days", policy.forwarding_window_days, 1),
        ("citizen_reply_days", policy.citizen_reply_days, 1),
        ("contest_window_days", policy.contest_window_days, 1),
        ("due_soon_days", policy.due_soon_days, 0),
    ];
    for (field, value, min) in checks {
        if !(min..=MAX_PERIOD_DAYS).contains(&value) {
            return Err(PolicyError::OutOfRange {
                policy: policy.name.clone(),
                field,
                value,
                min,
                max: MAX_PERIOD_DAYS,
            });
        }
    }
    Ok(())
}
