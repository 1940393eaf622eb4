//! A jurisdiction's business calendar: its time zone, its weekend, and, per year, the days
//! the law or the government makes days off or working days.
//!
//! The calendar is data an administrator edits, never code: the year tables list the
//! holidays and the moves made by decree, and the days off that the rule "a holiday on a
//! weekend moves the day off to the next working day" implies are derived here
//! ([`derive_transfers`]). Everything in this module is pure: no files, no clock.

mod file;
mod transfer;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::locale::Locale;

pub use file::CalendarError;
pub use transfer::derive_transfers;

/// The years a calendar can be edited for, and a report's period can name: wide enough for
/// any appeal's lifetime, narrow enough that every date in them can be counted from and
/// stepped through without leaving the range of dates the code and both databases handle.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

/// A name in each language the system serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Names {
    /// Tajik, in Tajik Cyrillic.
    pub tg: String,
    /// Russian.
    pub ru: String,
    /// English.
    pub en: String,
}

impl Names {
    /// The name in `locale`.
    pub fn get(&self, locale: Locale) -> &str {
        match locale {
            Locale::Tg => &self.tg,
            Locale::Ru => &self.ru,
            Locale::En => &self.en,
        }
    }
}

/// What a calendar entry does to its date. Stored and sent as its snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A public holiday: a day off by law.
    Holiday,
    /// A weekend day that is worked (moved there by decree).
    WorkingDay,
    /// A day that would be worked but is a day off: moved by decree, or the transfer of a
    /// holiday that fell on a weekend.
    DayOff,
}

impl EntryKind {
    /// The stable name used in files, storage and the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            EntryKind::Holiday => "holiday",
            EntryKind::WorkingDay => "working_day",
            EntryKind::DayOff => "day_off",
        }
    }

    /// Whether a date carrying this entry is a day off.
    pub const fn is_day_off(self) -> bool {
        matches!(self, EntryKind::Holiday | EntryKind::DayOff)
    }
}

/// One dated line of the calendar, as listed for a year and served by the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarEntry {
    /// The local date the entry applies to.
    pub date: NaiveDate,
    /// What it does to that date.
    pub kind: EntryKind,
    /// Its name in tg, ru and en.
    pub names: Names,
    /// True while the date is expected but not yet announced (the two Eids, for example);
    /// an administrator replaces it with the announced date.
    #[serde(default)]
    pub provisional: bool,
    /// For a day off that replaces another day: the day it was moved from. Set on every
    /// derived transfer (the holiday's date) and optionally on moves by decree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<NaiveDate>,
}

/// The days of the week that are not worked unless the calendar says otherwise.
///
/// Always leaves at least one day of the week worked, so a search for the next working
/// day always ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weekend(u8);

impl Weekend {
    /// Builds a weekend from its days; `None` when it would cover the whole week.
    pub fn new(days: impl IntoIterator<Item = Weekday>) -> Option<Self> {
        let mask = days.into_iter().fold(0u8, |mask, day| mask | Self::bit(day));
        (mask != 0b111_1111).then_some(Self(mask))
    }

    /// Saturday and Sunday.
    pub const fn saturday_sunday() -> Self {
        Self((1 << 5) | (1 << 6))
    }

    /// Whether `day` is part of the weekend.
    pub const fn contains(self, day: Weekday) -> bool {
        self.0 & Self::bit(day) != 0
    }

    /// The weekend's days, Monday first.
    pub fn days(self) -> impl Iterator<Item = Weekday> {
        WEEK.into_iter().filter(move |day| self.contains(*day))
    }

    const fn bit(day: Weekday) -> u8 {
        1 << day.num_days_from_monday()
    }
}

impl Default for Weekend {
    fn default() -> Self {
        Self::saturday_sunday()
    }
}

const WEEK: [Weekday; 7] =
    [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];

/// The parts of a calendar that do not change from year to year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CalendarRules {
    /// The jurisdiction's time zone: dates are local dates there.
    pub time_zone: Tz,
    /// The days of the week not worked.
    pub weekend: Weekend,
}

/// One year of the calendar as an administrator declares it: the holidays and the moves
/// made by decree. Transfers of weekend holidays are not listed here; they are derived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearTable {
    /// The calendar year; every entry's date lies in it.
    pub year: i32,
    /// Holidays, working days moved onto weekends and days off by decree, in any order.
    pub entries: Vec<CalendarEntry>,
}

/// What a year looks like once its transfers are derived: the listing behind
/// `murojiat calendar show <year>` and `GET /admin/calendar/{year}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct YearListing {
    /// The calendar year.
    pub year: i32,
    /// The IANA name of the calendar's time zone.
    pub time_zone: String,
    /// The weekend days, as lower-case English names, Monday first.
    pub weekend: Vec<String>,
    /// Every entry of the year, declared and derived, in date order.
    pub entries: Vec<CalendarEntry>,
}

/// A jurisdiction's working calendar: answers "is this local date worked?" and converts
/// between instants and local dates in the jurisdiction's time zone.
///
/// For a year that has no table the calendar knows only the weekend; [`Self::covers`] tells
/// callers when that is the case, so they can warn an administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessCalendar {
    rules: CalendarRules,
    entries: BTreeMap<NaiveDate, CalendarEntry>,
    years: BTreeSet<i32>,
}

impl BusinessCalendar {
    /// Builds a calendar from its rules and year tables, deriving the transfers of weekend
    /// holidays. Refuses a year given twice, an entry outside its year, two entries on one
    /// date, and a working day that is not a weekend day.
    pub fn new(rules: CalendarRules, tables: Vec<YearTable>) -> Result<Self, CalendarError> {
        let mut years = BTreeSet::new();
        let mut entries: BTreeMap<NaiveDate, CalendarEntry> = BTreeMap::new();
        for table in tables {
            if !years.insert(table.year) {
                return Err(CalendarError::DuplicateYear { year: table.year });
            }
            for entry in table.entries {
                if entry.date.year() != table.year {
                    return Err(CalendarError::OutsideYear { year: table.year, date: entry.date });
                }
                if entry.kind == EntryKind::WorkingDay && !rules.weekend.contains(entry.date.weekday()) {
                    return Err(CalendarError::WorkingDayNotOnWeekend { date: entry.date });
                }
                if let Some(first) = entries.get(&entry.date) {
                    return Err(CalendarError::DuplicateDate {
                        date: entry.date,
                        first: first.names.en.clone(),
                        second: entry.names.en,
                    });
                }
                entries.insert(entry.date, entry);
            }
        }
        let declared: Vec<CalendarEntry> = entries.values().cloned().collect();
        for transfer in derive_transfers(rules.weekend, &declared) {
            years.insert(transfer.date.year());
            entries.insert(transfer.date, transfer);
        }
        Ok(Self { rules, entries, years })
    }

    /// A calendar with only a weekend and no year tables.
    pub fn weekends_only(rules: CalendarRules) -> Self {
        Self { rules, entries: BTreeMap::new(), years: BTreeSet::new() }
    }

    /// Parses the base file (time zone and weekend) and the year files, given as
    /// `(file name, contents)` pairs; the names only label errors. See docs/deadlines.md
    /// for the format.
    pub fn from_toml(base: &str, years: &[(&str, &str)]) -> Result<Self, CalendarError> {
        let rules = file::parse_rules(base)?;
        let tables =
            years.iter().map(|(name, text)| file::parse_year(name, text)).collect::<Result<Vec<_>, _>>()?;
        Self::new(rules, tables)
    }

    /// Parses one year file (see docs/deadlines.md) into the table it declares; `file` only
    /// labels errors.
    pub fn parse_year_table(file: &str, text: &str) -> Result<YearTable, CalendarError> {
        file::parse_year(file, text)
    }

    /// Parses the base file: time zone and weekend.
    pub fn parse_rules(text: &str) -> Result<CalendarRules, CalendarError> {
        file::parse_rules(text)
    }

    /// The rules: time zone and weekend.
    pub fn rules(&self) -> CalendarRules {
        self.rules
    }

    /// The jurisdiction's time zone.
    pub fn time_zone(&self) -> Tz {
        self.rules.time_zone
    }

    /// Whether a year table was loaded for `date`'s year (or a transfer reached into it).
    /// Outside covered years only the weekend is known.
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.years.contains(&date.year())
    }

    /// The entry on `date`, declared or derived, if any.
    pub fn entry(&self, date: NaiveDate) -> Option<&CalendarEntry> {
        self.entries.get(&date)
    }

    /// Whether `date` is worked: a weekend day only when an entry makes it a working day,
    /// any other day unless an entry makes it a day off.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.entries.get(&date) {
            Some(entry) => !entry.kind.is_day_off(),
            None => !self.rules.weekend.contains(date.weekday()),
        }
    }

    /// The first working day strictly after `date`. Saturates at the last date chrono can
    /// represent, which no real deadline approaches.
    pub fn next_working_day(&self, date: NaiveDate) -> NaiveDate {
        self.working_days_after(date).next().unwrap_or(NaiveDate::MAX)
    }

    /// `date` itself when it is worked, otherwise the next working day.
    pub fn working_day_on_or_after(&self, date: NaiveDate) -> NaiveDate {
        if self.is_working_day(date) { date } else { self.next_working_day(date) }
    }

    /// The working days strictly after `date`, in order, without end (until chrono's last
    /// date).
    pub fn working_days_after(&self, date: NaiveDate) -> impl Iterator<Item = NaiveDate> + '_ {
        days_after(date).filter(|day| self.is_working_day(*day))
    }

    /// The working days strictly before `date`, latest first, without end (until chrono's
    /// first date).
    pub fn working_days_before(&self, date: NaiveDate) -> impl Iterator<Item = NaiveDate> + '_ {
        std::iter::successors(date.pred_opt(), |day| day.pred_opt()).filter(|day| self.is_working_day(*day))
    }

    /// How many working days lie in `(from, to]`: after `from`, up to and including `to`.
    /// Zero when `to` is not after `from`. With `from` the registration date and `to` the
    /// due date, this is the number of working days the period counted.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        let count =
            days_after(from).take_while(|day| *day <= to).filter(|day| self.is_working_day(*day)).count();
        u32::try_from(count).unwrap_or(u32::MAX)
    }

    /// The local date of `instant` in the calendar's time zone.
    pub fn local_date(&self, instant: DateTime<Utc>) -> NaiveDate {
        instant.with_timezone(&self.rules.time_zone).date_naive()
    }

    /// The first instant of the local day `date`. When local midnight does not exist
    /// (a daylight-saving gap), the day starts when the gap ends.
    pub fn start_of_day(&self, date: NaiveDate) -> DateTime<Utc> {
        self.at_local_time(date, NaiveTime::MIN)
    }

    /// The instant of the local time `time` on `date`: the earlier one when the clocks go
    /// back over it, the end of the gap when they go forward over it.
    pub fn at_local_time(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let wanted = date.and_time(time);
        let tz = self.rules.time_zone;
        let first_valid = (0..=24 * 60).find_map(|minutes| {
            let local = wanted.checked_add_signed(TimeDelta::minutes(minutes))?;
            match tz.from_local_datetime(&local) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
                LocalResult::None => None,
            }
        });
        first_valid.unwrap_or_else(|| Utc.from_utc_datetime(&wanted))
    }

    /// The last whole second of the local day `date` (23:59:59 local on an ordinary day):
    /// one second before the next local day starts. Saturates at chrono's last instant.
    pub fn end_of_day(&self, date: NaiveDate) -> DateTime<Utc> {
        date.succ_opt()
            .map(|next| self.start_of_day(next) - TimeDelta::seconds(1))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// The years that have a table, in order.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    /// Every entry of `year`, declared and derived, in date order, with the rules; `None`
    /// when the year has no table.
    pub fn year(&self, year: i32) -> Option<YearListing> {
        if !self.years.contains(&year) {
            return None;
        }
        let entries = self.entries.values().filter(|entry| entry.date.year() == year).cloned().collect();
        Some(YearListing {
            year,
            time_zone: self.rules.time_zone.name().to_owned(),
            weekend: self.rules.weekend.days().map(weekday_name).map(str::to_owned).collect(),
            entries,
        })
    }
}

/// The days strictly after `date`, in order, until chrono's last date.
fn days_after(date: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    std::iter::successors(date.succ_opt(), |day| day.succ_opt())
}

/// The lower-case English name the calendar files use for a weekday.
pub(crate) fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
        Weekday::Sat => "saturday",
        Weekday::Sun => "sunday",
    }
}

#[cfg(test)]
pub(crate) mod tests;
