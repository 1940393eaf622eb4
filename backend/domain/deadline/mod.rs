//! Deadline arithmetic: when an appeal is due, how an extension, a pause or forwarding moves
//! that, when to remind, and whether an appeal is on time, due soon or overdue.
//!
//! The rules (DESIGN.md section 2, docs/deadlines.md): a period of N days starts on the day
//! after the appeal is registered, the registration day being the local date of the
//! registration instant in the calendar's time zone; it ends at the end of its N-th day
//! (23:59:59 local); a working-day period counts only working days; a period whose last
//! day is a day off ends on the next working day when the policy rolls. Deadlines are
//! instants in UTC.
//!
//! Every function here is pure and total: it takes the instants it needs as arguments and
//! never reads a clock. Results saturate at the ends of chrono's range, which no real
//! deadline approaches.

mod policy;

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::calendar::BusinessCalendar;

pub use policy::{
    DayCount, DeadlinePolicies, DeadlinePolicy, InvalidReminderOffset, MAX_PERIOD_DAYS, PolicyError,
    ReminderOffset,
};

/// The end of a period of `days` days that starts on the day after the local date of
/// `from`: the last second of its last day in the calendar's time zone.
///
/// With [`DayCount::Working`] only working days count, so the last day is a working day
/// whenever `days >= 1`. With [`DayCount::Calendar`] and `roll` the last day moves to the
/// next working day when it is a day off. A period of 0 days ends at the end of the local
/// day of `from` (rolled likewise). The result is never earlier than the end of that day.
pub fn period_end(
    calendar: &BusinessCalendar,
    from: DateTime<Utc>,
    days: u32,
    count: DayCount,
    roll: bool,
) -> DateTime<Utc> {
    let last_day = last_day_of_period(calendar, calendar.local_date(from), days, count, roll);
    calendar.end_of_day(last_day)
}

fn last_day_of_period(
    calendar: &BusinessCalendar,
    start: NaiveDate,
    days: u32,
    count: DayCount,
    roll: bool,
) -> NaiveDate {
    let last = match (count, days.checked_sub(1)) {
        (_, None) => start,
        (DayCount::Calendar, Some(_)) => {
            start.checked_add_days(Days::new(u64::from(days))).unwrap_or(NaiveDate::MAX)
        }
        (DayCount::Working, Some(index)) => {
            let index = usize::try_from(index).unwrap_or(usize::MAX);
            calendar.working_days_after(start).nth(index).unwrap_or(NaiveDate::MAX)
        }
    };
    if roll { calendar.working_day_on_or_after(last) } else { last }
}

/// When an appeal registered at `registered_at` is due under `policy`: the end of the last
/// day of its consideration period on `calendar`.
pub fn due_at(
    policy: &DeadlinePolicy,
    calendar: &BusinessCalendar,
    registered_at: DateTime<Utc>,
) -> DateTime<Utc> {
    period_end(calendar, registered_at, policy.period_days, policy.day_count, policy.roll_to_working_day)
}

/// By when an agency that is not competent must forward an appeal registered (or received)
/// at `registered_at`: the end of the last day of the policy's forwarding window.
pub fn forwarding_due_at(
    policy: &DeadlinePolicy,
    calendar: &BusinessCalendar,
    registered_at: DateTime<Utc>,
) -> DateTime<Utc> {
    period_end(
        calendar,
        registered_at,
        policy.forwarding_window_days,
        policy.forwarding_day_count,
        policy.roll_to_working_day,
    )
}

/// The due instant at the receiving agency after forwarding at `forwarded_at`: a fresh
/// period from `forwarded_at` on the receiving agency's `calendar` when the policy restarts
/// the deadline, otherwise `current_due` unchanged (the original registration date holds).
pub fn due_after_forwarding(
    policy: &DeadlinePolicy,
    calendar: &BusinessCalendar,
    current_due: DateTime<Utc>,
    forwarded_at: DateTime<Utc>,
) -> DateTime<Utc> {
    if policy.forwarding_restarts_deadline { due_at(policy, calendar, forwarded_at) } else { current_due }
}

/// Why an extension was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionRefused {
    /// An extension of zero days.
    #[error("an extension must add at least one day")]
    NoDays,
    /// More days than the policy allows in one extension.
    #[error("an extension of {requested} days exceeds the maximum of {max} days")]
    TooLong { requested: u32, max: u32 },
    /// Every extension the policy allows has been granted.
    #[error("the policy allows {max} extension(s) and {granted} already granted")]
    LimitReached { max: u32, granted: u32 },
    /// The deadline has already passed: a period that ended cannot be extended, and a late
    /// appeal stays late in the reports.
    #[error("the deadline passed at {due}; an extension must be granted before it passes")]
    DeadlinePassed { due: DateTime<Utc> },
}

/// The due instant after granting an extension of `requested_days` to an appeal due at
/// `current_due` that has had `extensions_so_far` extensions, asked for when the appeal's
/// clock stands at `clock_at` (now, or when the clock was paused while the appeal awaits
/// the citizen).
///
/// The extension counts like the period (the policy's day count and roll rule), starting on
/// the day after the local date of `current_due`, and ends at the end of its last day. The
/// result is never earlier than `current_due`. Refused when the deadline has passed at
/// `clock_at`, when `requested_days` is 0 or above `max_extension_days`, or when
/// `max_extensions` have already been granted.
pub fn extend(
    policy: &DeadlinePolicy,
    calendar: &BusinessCalendar,
    current_due: DateTime<Utc>,
    requested_days: u32,
    extensions_so_far: u32,
    clock_at: DateTime<Utc>,
) -> Result<DateTime<Utc>, ExtensionRefused> {
    if clock_at >= overdue_at(current_due) {
        return Err(ExtensionRefused::DeadlinePassed { due: current_due });
    }
    if extensions_so_far >= policy.max_extensions {
        return Err(ExtensionRefused::LimitReached {
            max: policy.max_extensions,
            granted: extensions_so_far,
        });
    }
    if requested_days == 0 {
        return Err(ExtensionRefused::NoDays);
    }
    if requested_days > policy.max_extension_days {
        return Err(ExtensionRefused::TooLong { requested: requested_days, max: policy.max_extension_days });
    }
    Ok(extended_due(policy, calendar, current_due, requested_days))
}

/// The due instant `days` (counted like the period) after `current_due`, never earlier: an
/// extension's arithmetic, once [`extend`] has allowed it.
fn extended_due(
    policy: &DeadlinePolicy,
    calendar: &BusinessCalendar,
    current_due: DateTime<Utc>,
    days: u32,
) -> DateTime<Utc> {
    period_end(calendar, current_due, days, policy.day_count, policy.roll_to_working_day).max(current_due)
}

/// The due instant after a pause `[paused_at, resumed_at)` while the appeal awaited the
/// citizen: `due` moved later by exactly `resumed_at - paused_at`, to the nanosecond, so the
/// time the agency had left when it asked is what it has when the citizen answers. When the
/// policy does not pause, `resumed_at` is not after `paused_at`, or the deadline had already
/// passed when the clock stopped (nothing was left to keep: asking does not undo lateness),
/// `due` is unchanged.
pub fn due_after_pause(
    policy: &DeadlinePolicy,
    due: DateTime<Utc>,
    paused_at: DateTime<Utc>,
    resumed_at: DateTime<Utc>,
) -> DateTime<Utc> {
    if !policy.pause_while_awaiting_citizen || resumed_at <= paused_at || paused_at >= due {
        return due;
    }
    due.checked_add_signed(resumed_at - paused_at).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// One step of an appeal's history that sets or moves its consideration deadline, as its
/// timeline records it, for [`replay`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlineStep {
    /// A new period from this instant: the registration, a contest, a reopening.
    Start(DateTime<Utc>),
    /// Forwarded at this instant: a new period when the policy restarts the deadline.
    Forward(DateTime<Utc>),
    /// An extension of this many days was granted.
    Extend(u32),
    /// The clock stopped at this instant (a request for information).
    Pause(DateTime<Utc>),
    /// The clock started again at this instant (the appeal left "awaiting citizen").
    Resume(DateTime<Utc>),
}

/// The due instant that `steps` (oldest first) give on `calendar`: each step computed as the
/// lifecycle computed it when it happened ([`due_at`], [`due_after_forwarding`], [`extend`]
/// without its limits, which were checked then, and [`due_after_pause`]). On the calendar in
/// force at each step it is the stored due instant; on an edited calendar, the one the edit
/// gives. `None` before the first [`DeadlineStep::Start`].
pub fn replay(
    policy: &DeadlinePolicy,
    calendar: &BusinessCalendar,
    steps: &[DeadlineStep],
) -> Option<DateTime<Utc>> {
    let mut due: Option<DateTime<Utc>> = None;
    let mut paused_at = None;
    for step in steps {
        match (*step, due) {
            (DeadlineStep::Start(at), _) => {
                due = Some(due_at(policy, calendar, at));
                paused_at = None;
            }
            (DeadlineStep::Forward(at), Some(current)) => {
                due = Some(due_after_forwarding(policy, calendar, current, at));
                paused_at = None;
            }
            (DeadlineStep::Extend(days), Some(current)) => {
                due = Some(extended_due(policy, calendar, current, days));
            }
            (DeadlineStep::Pause(at), Some(_)) if policy.pause_while_awaiting_citizen => paused_at = Some(at),
            (DeadlineStep::Resume(at), Some(current)) => {
                if let Some(paused) = paused_at.take() {
                    due = Some(due_after_pause(policy, current, paused, at));
                }
            }
            _ => {}
        }
    }
    due
}

/// By when the citizen must answer a request for information sent at `requested_at`
/// before the appeal may be closed as abandoned.
pub fn citizen_reply_due_at(
    policy: &DeadlinePolicy,
    calendar: &BusinessCalendar,
    requested_at: DateTime<Utc>,
) -> DateTime<Utc> {
    period_end(
        calendar,
        requested_at,
        policy.citizen_reply_days,
        policy.day_count,
        policy.roll_to_working_day,
    )
}

/// Until when the citizen may contest an answer given at `answered_at`.
pub fn contest_window_closes_at(
    policy: &DeadlinePolicy,
    calendar: &BusinessCalendar,
    answered_at: DateTime<Utc>,
) -> DateTime<Utc> {
    period_end(
        calendar,
        answered_at,
        policy.contest_window_days,
        policy.day_count,
        policy.roll_to_working_day,
    )
}

/// When the reminder `offset` of an appeal due at `due` fires: for `"<n>wd"`, the policy's
/// `reminder_time` on the n-th working day before the last day (the local date of `due`;
/// `"0wd"`: the last day itself; a last day that is a day off counts from the working day
/// before it); for a duration, exactly that long before `due`. It may already be past; the
/// scheduler decides what to do with that.
pub fn reminder_at(
    policy: &DeadlinePolicy,
    calendar: &BusinessCalendar,
    offset: ReminderOffset,
    due: DateTime<Utc>,
) -> DateTime<Utc> {
    match offset {
        ReminderOffset::WorkingDays(days) => {
            let last = calendar.local_date(due);
            // The last working day of the period, and the working days before it.
            let mut days_back = std::iter::once(last)
                .filter(|day| calendar.is_working_day(*day))
                .chain(calendar.working_days_before(last));
            days_back
                .nth(days as usize)
                .map_or(DateTime::<Utc>::MIN_UTC, |day| calendar.at_local_time(day, policy.reminder_time))
        }
        ReminderOffset::Before { minutes } => {
            due.checked_sub_signed(TimeDelta::minutes(i64::from(minutes))).unwrap_or(DateTime::<Utc>::MIN_UTC)
        }
    }
}

/// The first instant at which an appeal due at `due` is overdue: one second after it, so
/// the whole of the last second (23:59:59 local) still counts as in time.
pub fn overdue_at(due: DateTime<Utc>) -> DateTime<Utc> {
    due.checked_add_signed(TimeDelta::seconds(1)).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Where an open appeal stands against its deadline. Stored and sent as its snake_case
/// name (`on_time`, `due_soon`, `overdue`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineState {
    /// More than `due_soon_days` working days remain.
    OnTime,
    /// Not yet overdue, and at most `due_soon_days` working days remain.
    DueSoon,
    /// At or after [`overdue_at`] the due instant.
    Overdue,
}

impl DeadlineState {
    /// Every state, in the order an appeal passes through them.
    pub const ALL: &'static [DeadlineState] =
        &[DeadlineState::OnTime, DeadlineState::DueSoon, DeadlineState::Overdue];

    /// The stable name used in storage, reports and the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            DeadlineState::OnTime => "on_time",
            DeadlineState::DueSoon => "due_soon",
            DeadlineState::Overdue => "overdue",
        }
    }

    /// The state at `now` of an appeal due at `due`.
    ///
    /// Overdue from [`overdue_at`]`(due)`. Otherwise due soon when the working days after
    /// the local date of `now`, up to and including the local date of `due`, number at most
    /// the policy's `due_soon_days` (so an appeal due later today or on the next working
    /// day is always due soon when `due_soon_days >= 1`).
    pub fn at(
        policy: &DeadlinePolicy,
        calendar: &BusinessCalendar,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        if now >= overdue_at(due) {
            return DeadlineState::Overdue;
        }
        let today = calendar.local_date(now);
        let due_date = calendar.local_date(due);
        let limit = usize::try_from(policy.due_soon_days).unwrap_or(usize::MAX);
        let more_than_limit_remain =
            calendar.working_days_after(today).take_while(|day| *day <= due_date).nth(limit).is_some();
        if more_than_limit_remain { DeadlineState::OnTime } else { DeadlineState::DueSoon }
    }

    /// The same states as [`DeadlineState::at`] at `now`, as ranges of due instants (to the
    /// microsecond, as stored), for a query to filter by: an appeal due before the first
    /// instant is overdue, before the second due soon, and from the second on time.
    pub fn boundaries(
        policy: &DeadlinePolicy,
        calendar: &BusinessCalendar,
        now: DateTime<Utc>,
    ) -> (DateTime<Utc>, DateTime<Utc>) {
        use chrono::SubsecRound;
        // Overdue when `due + 1 s <= now`, that is `due <= now - 1 s` in whole microseconds.
        let due_soon_from = now.trunc_subsecs(6) - TimeDelta::seconds(1) + TimeDelta::microseconds(1);
        // On time when the (limit + 1)-th working day after today is on or before the due date.
        let limit = usize::try_from(policy.due_soon_days).unwrap_or(usize::MAX);
        let on_time_from = calendar
            .working_days_after(calendar.local_date(now))
            .nth(limit)
            .map_or(DateTime::<Utc>::MAX_UTC, |day| calendar.start_of_day(day));
        (due_soon_from, on_time_from.max(due_soon_from))
    }
}

impl std::fmt::Display for DeadlineState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests;
