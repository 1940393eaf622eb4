//! The kinds of job the scheduler runs, and the dedupe keys that make each unique.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::deadline::ReminderOffset;

/// What a job does when it falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Remind the assignee (or the agency's queue) that the deadline is near.
    Reminder,
    /// The deadline passed: mark the appeal overdue and escalate to the supervisors, once.
    Deadline,
    /// The agency's window to forward an appeal it is not competent for has run out.
    ForwardingWindow,
    /// The citizen did not answer a request for information in time: close as abandoned.
    CitizenReply,
    /// The window to contest an answer has closed: close the appeal.
    ContestWindow,
}

impl JobKind {
    pub const ALL: &'static [JobKind] = &[
        JobKind::Reminder,
        JobKind::Deadline,
        JobKind::ForwardingWindow,
        JobKind::CitizenReply,
        JobKind::ContestWindow,
    ];

    /// The name stored in `jobs.kind`.
    pub const fn as_str(self) -> &'static str {
        match self {
            JobKind::Reminder => "reminder",
            JobKind::Deadline => "deadline",
            JobKind::ForwardingWindow => "forwarding_window",
            JobKind::CitizenReply => "citizen_reply",
            JobKind::ContestWindow => "contest_window",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == name)
    }
}

/// The key of a reminder `offset` before the appeal's deadline `due` at `agency`: a new
/// deadline, or the appeal forwarded to another agency, makes new keys, so the old
/// reminders can be superseded by key.
pub fn reminder_key(appeal: Uuid, agency: Uuid, due: DateTime<Utc>, offset: ReminderOffset) -> String {
    format!("reminder:{appeal}:{agency}:{}:{offset}", due.timestamp_micros())
}

/// The key of the appeal's deadline `due` at `agency`: an agency that receives an appeal
/// after its deadline passed elsewhere has the missed deadline escalated to its own
/// supervisors, once.
pub fn deadline_key(appeal: Uuid, agency: Uuid, due: DateTime<Utc>) -> String {
    format!("deadline:{appeal}:{agency}:{}", due.timestamp_micros())
}

/// The appeal, agency and due instant a [`deadline_key`] was made of; `None` for any other
/// key. A done deadline job that escalated is the record of its escalation, and its key
/// says which. Keys written before deadlines were kept per agency (`deadline:<appeal>:<due>`)
/// name no agency.
pub fn deadline_of_key(key: &str) -> Option<(Uuid, Option<Uuid>, DateTime<Utc>)> {
    let parts: Vec<&str> = key.strip_prefix("deadline:")?.split(':').collect();
    let (appeal, agency, due) = match parts.as_slice() {
        [appeal, agency, due] => (appeal, Some(agency.parse().ok()?), due),
        [appeal, due] => (appeal, None, due),
        _ => return None,
    };
    Some((appeal.parse().ok()?, agency, DateTime::from_timestamp_micros(due.parse().ok()?)?))
}

pub fn forwarding_key(appeal: Uuid, agency: Uuid) -> String {
    format!("forwarding_window:{appeal}:{agency}")
}

pub fn citizen_reply_key(appeal: Uuid, requested_at: DateTime<Utc>) -> String {
    format!("citizen_reply:{appeal}:{}", requested_at.timestamp_micros())
}

pub fn contest_key(appeal: Uuid, answered_at: DateTime<Utc>) -> String {
    format!("contest_window:{appeal}:{}", answered_at.timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_key_reads_back_as_what_it_was_made_of() {
        let (appeal, agency) = (Uuid::now_v7(), Uuid::now_v7());
        let due = DateTime::from_timestamp_micros(1_781_200_799_999_999).unwrap();
        assert_eq!(deadline_of_key(&deadline_key(appeal, agency, due)), Some((appeal, Some(agency), due)));
        let before_agencies = format!("deadline:{appeal}:{}", due.timestamp_micros());
        assert_eq!(deadline_of_key(&before_agencies), Some((appeal, None, due)));
        let reminder = reminder_key(appeal, agency, due, ReminderOffset::parse("3wd").unwrap());
        assert_eq!(deadline_of_key(&reminder), None, "another kind's key");
        assert_eq!(deadline_of_key(&format!("{}:1", deadline_key(appeal, agency, due))), None);
        assert_eq!(deadline_of_key(&format!("deadline:{appeal}:future")), None);
    }
}
