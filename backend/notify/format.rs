//! Dates and times the way each language writes them, in the agency's time zone.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::domain::locale::Locale;

const ENGLISH_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A calendar date: `17.03.2026` in Tajik and Russian, `17 March 2026` in English.
pub fn format_date(date: NaiveDate, locale: Locale) -> String {
    match locale {
        Locale::Tg | Locale::Ru => date.format("%d.%m.%Y").to_string(),
        Locale::En => {
            let month = ENGLISH_MONTHS[date.month0() as usize];
            format!("{} {month} {}", date.day(), date.year())
        }
    }
}

/// An instant as the agency's wall-clock date and time: `17.03.2026, 18:00` in Tajik and
/// Russian, `17 March 2026, 18:00` in English.
pub fn format_datetime(instant: DateTime<Utc>, locale: Locale, tz: Tz) -> String {
    let local = instant.with_timezone(&tz);
    format!("{}, {}", format_date(local.date_naive(), locale), local.format("%H:%M"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn formats_in_the_agency_zone_and_the_locale_style() {
        let instant = Utc.with_ymd_and_hms(2026, 3, 17, 13, 0, 0).single().expect("valid");
        let dushanbe = chrono_tz::Asia::Dushanbe;
        assert_eq!(format_datetime(instant, Locale::Tg, dushanbe), "17.03.2026, 18:00");
        assert_eq!(format_datetime(instant, Locale::Ru, dushanbe), "17.03.2026, 18:00");
        assert_eq!(format_datetime(instant, Locale::En, dushanbe), "17 March 2026, 18:00");
        let late = Utc.with_ymd_and_hms(2026, 12, 31, 20, 30, 0).single().expect("valid");
        assert_eq!(format_datetime(late, Locale::En, dushanbe), "1 January 2027, 01:30");
    }
}
