//! The rule that a holiday falling on a weekend moves the day off to the next working day.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};

use super::{CalendarEntry, EntryKind, Weekend};

/// The days off implied by holidays that fall on weekend days.
///
/// Each such holiday, taken in date order, moves its day off to the first later date that
/// is an ordinary weekday, is not itself a holiday or a day off, and has not already
/// received an earlier transfer; so two weekend days of Navruz move to two distinct days,
/// and a transfer never lands on another holiday. Weekend days are never targets, even one
/// a decree makes a working day. The derived entries are
/// days off with the holiday's names and provisional flag and `moved_from` set to the
/// holiday's date, returned in date order. A transfer may land in the following year.
///
/// `declared` is every declared entry (holidays and decree moves); entries that are not
/// holidays only block dates.
pub fn derive_transfers(weekend: Weekend, declared: &[CalendarEntry]) -> Vec<CalendarEntry> {
    let mut taken: BTreeSet<NaiveDate> = declared.iter().map(|entry| entry.date).collect();
    let mut holidays: Vec<&CalendarEntry> = declared
        .iter()
        .filter(|entry| entry.kind == EntryKind::Holiday && weekend.contains(entry.date.weekday()))
        .collect();
    holidays.sort_by_key(|entry| entry.date);

    let mut transfers = Vec::with_capacity(holidays.len());
    for holiday in holidays {
        let target = std::iter::successors(holiday.date.succ_opt(), |day| day.succ_opt())
            .find(|day| !weekend.contains(day.weekday()) && !taken.contains(day));
        let Some(target) = target else { continue };
        taken.insert(target);
        transfers.push(CalendarEntry {
            date: target,
            kind: EntryKind::DayOff,
            names: holiday.names.clone(),
            provisional: holiday.provisional,
            moved_from: Some(holiday.date),
        });
    }
    transfers.sort_by_key(|entry| entry.date);
    transfers
}
