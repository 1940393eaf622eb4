//! The TOML files a calendar is kept in (config/calendar/): one base file with the time
//! zone and weekend, one file per year with its holidays and moves by decree. Parsing only:
//! reading the files is the caller's job.

use chrono::{NaiveDate, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;
use toml::value::Datetime;

use super::{CalendarEntry, CalendarRules, EntryKind, Names, Weekend, YearTable};

/// Why a calendar could not be built. Each variant names the file, year or date at fault;
/// syntax errors carry the TOML parser's line and column.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// A file is not valid TOML or not of the expected shape.
    #[error("{file}: {source}")]
    Syntax {
        file: String,
        #[source]
        source: toml::de::Error,
    },
    /// The base file names a time zone the IANA database does not know.
    #[error("calendar base file: unknown time zone '{name}'")]
    UnknownTimeZone { name: String },
    /// The base file names something that is not a day of the week.
    #[error("calendar base file: '{name}' is not a day of the week")]
    UnknownWeekday { name: String },
    /// The base file makes every day of the week a weekend day.
    #[error("calendar base file: the weekend cannot be the whole week")]
    WholeWeekIsWeekend,
    /// A date value is not a plain local date such as 2026-03-21.
    #[error("{file}: '{value}' is not a plain date like 2026-03-21")]
    NotADate { file: String, value: String },
    /// A range ends before it starts.
    #[error("{file}: entry on {date} ends on {until}, before it starts")]
    RangeBackwards { file: String, date: NaiveDate, until: NaiveDate },
    /// Two tables for the same year.
    #[error("year {year} is given twice")]
    DuplicateYear { year: i32 },
    /// An entry dated outside the year of its table.
    #[error("year {year}: entry on {date} lies outside the year")]
    OutsideYear { year: i32, date: NaiveDate },
    /// Two entries on one date.
    #[error("{date}: two entries on one date ('{first}' and '{second}')")]
    DuplicateDate { date: NaiveDate, first: String, second: String },
    /// A working day declared on a day that is already worked.
    #[error("{date}: a working day moved by decree must fall on a weekend day")]
    WorkingDayNotOnWeekend { date: NaiveDate },
}

/// The base file: `time_zone = "Asia/Dushanbe"`, `weekend = ["saturday", "sunday"]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BaseFile {
    time_zone: String,
    #[serde(default = "default_weekend")]
    weekend: Vec<String>,
}

fn default_weekend() -> Vec<String> {
    vec!["saturday".to_owned(), "sunday".to_owned()]
}

/// A year file: `year = 2026` and arrays of tables `[[holiday]]`, `[[working_day]]`,
/// `[[day_off]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i32,
    #[serde(default)]
    holiday: Vec<EntryLine>,
    #[serde(default)]
    working_day: Vec<EntryLine>,
    #[serde(default)]
    day_off: Vec<EntryLine>,
}

/// One entry as written; `until` makes it cover every date from `date` to `until`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryLine {
    date: Datetime,
    until: Option<Datetime>,
    tg: String,
    ru: String,
    en: String,
    #[serde(default)]
    provisional: bool,
    moved_from: Option<Datetime>,
}

const BASE_FILE: &str = "calendar base file";

pub(super) fn parse_rules(text: &str) -> Result<CalendarRules, CalendarError> {
    let base: BaseFile = toml::from_str(text)
        .map_err(|source| CalendarError::Syntax { file: BASE_FILE.to_owned(), source })?;
    let time_zone: Tz = base
        .time_zone
        .parse()
        .map_err(|_| CalendarError::UnknownTimeZone { name: base.time_zone.clone() })?;
    let days = base
        .weekend
        .iter()
        .map(|name| name.parse::<Weekday>().map_err(|_| CalendarError::UnknownWeekday { name: name.clone() }))
        .collect::<Result<Vec<_>, _>>()?;
    let weekend = Weekend::new(days).ok_or(CalendarError::WholeWeekIsWeekend)?;
    Ok(CalendarRules { time_zone, weekend })
}

pub(super) fn parse_year(file: &str, text: &str) -> Result<YearTable, CalendarError> {
    let parsed: YearFile =
        toml::from_str(text).map_err(|source| CalendarError::Syntax { file: file.to_owned(), source })?;
    let mut entries = Vec::new();
    let kinds = [
        (EntryKind::Holiday, parsed.holiday),
        (EntryKind::WorkingDay, parsed.working_day),
        (EntryKind::DayOff, parsed.day_off),
    ];
    for (kind, lines) in kinds {
        for line in lines {
            let first = to_date(file, &line.date)?;
            let last = match &line.until {
                Some(until) => to_date(file, until)?,
                None => first,
            };
            if last < first {
                return Err(CalendarError::RangeBackwards {
                    file: file.to_owned(),
                    date: first,
                    until: last,
                });
            }
            let moved_from = line.moved_from.as_ref().map(|d| to_date(file, d)).transpose()?;
            let names = Names { tg: line.tg, ru: line.ru, en: line.en };
            for date in first.iter_days().take_while(|day| *day <= last) {
                entries.push(CalendarEntry {
                    date,
                    kind,
                    names: names.clone(),
                    provisional: line.provisional,
                    moved_from,
                });
            }
        }
    }
    Ok(YearTable { year: parsed.year, entries })
}

fn to_date(file: &str, value: &Datetime) -> Result<NaiveDate, CalendarError> {
    let not_a_date = || CalendarError::NotADate { file: file.to_owned(), value: value.to_string() };
    match (value.date, value.time, value.offset) {
        (Some(date), None, None) => {
            NaiveDate::from_ymd_opt(i32::from(date.year), u32::from(date.month), u32::from(date.day))
                .ok_or_else(not_a_date)
        }
        _ => Err(not_a_date()),
    }
}
