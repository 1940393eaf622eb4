use chrono::{NaiveDate, TimeZone, Utc, Weekday};
use proptest::prelude::*;

use super::*;

const TJ_BASE: &str = include_str!("../../../config/calendar/tj.toml");
const TJ_2025: &str = include_str!("../../../config/calendar/tj-2025.toml");
const TJ_2026: &str = include_str!("../../../config/calendar/tj-2026.toml");
const TJ_2027: &str = include_str!("../../../config/calendar/tj-2027.toml");

/// The demo jurisdiction's calendar, from the real files in config/calendar/.
pub(crate) fn tajikistan() -> BusinessCalendar {
    BusinessCalendar::from_toml(
        TJ_BASE,
        &[("tj-2025.toml", TJ_2025), ("tj-2026.toml", TJ_2026), ("tj-2027.toml", TJ_2027)],
    )
    .unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn day_offs(calendar: &BusinessCalendar, year: i32) -> Vec<(NaiveDate, Option<NaiveDate>)> {
    calendar
        .year(year)
        .unwrap()
        .entries
        .into_iter()
        .filter(|e| e.kind == EntryKind::DayOff)
        .map(|e| (e.date, e.moved_from))
        .collect()
}

fn only_2026(entries: &str) -> Result<BusinessCalendar, CalendarError> {
    BusinessCalendar::from_toml(TJ_BASE, &[("test.toml", &format!("year = 2026\n{entries}"))])
}

#[test]
fn the_real_files_load_with_the_dushanbe_time_zone_and_a_saturday_sunday_weekend() {
    let calendar = tajikistan();
    assert_eq!(calendar.time_zone(), chrono_tz::Asia::Dushanbe);
    assert_eq!(calendar.rules().weekend, Weekend::saturday_sunday());
    assert_eq!(calendar.years().collect::<Vec<_>>(), vec![2025, 2026, 2027]);
    assert!(calendar.covers(date(2026, 7, 1)));
    assert!(!calendar.covers(date(2028, 1, 1)));
}

#[test]
fn weekend_holidays_of_2026_move_to_the_next_free_weekdays() {
    // 2026: 8 Mar is a Sunday; Navruz 21-22 Mar a Saturday and Sunday, and 23-24 Mar are
    // holidays themselves, so those two days off land on Wed 25 and Thu 26 Mar; 9 May and
    // 27 Jun are Saturdays. 1 Jan (Thu), 9 Sep (Wed), 6 Nov (Fri) and both Eids (Fri 20 Mar,
    // Wed 27 May) fall on weekdays.
    assert_eq!(
        day_offs(&tajikistan(), 2026),
        vec![
            (date(2026, 3, 9), Some(date(2026, 3, 8))),
            (date(2026, 3, 25), Some(date(2026, 3, 21))),
            (date(2026, 3, 26), Some(date(2026, 3, 22))),
            (date(2026, 5, 11), Some(date(2026, 5, 9))),
            (date(2026, 6, 29), Some(date(2026, 6, 27))),
        ]
    );
}

#[test]
fn weekend_holidays_of_2025_and_2027_move_likewise() {
    let calendar = tajikistan();
    // 2025: 8 Mar Sat; Navruz 22-23 Mar Sat-Sun; Idi Ramazon 30 Mar Sun.
    assert_eq!(
        day_offs(&calendar, 2025),
        vec![
            (date(2025, 3, 10), Some(date(2025, 3, 8))),
            (date(2025, 3, 25), Some(date(2025, 3, 22))),
            (date(2025, 3, 26), Some(date(2025, 3, 23))),
            (date(2025, 3, 31), Some(date(2025, 3, 30))),
        ]
    );
    // 2027: Navruz 21 Mar Sun (22-24 are holidays, so Thu 25); 9 May Sun; Idi Qurbon 16 May
    // Sun; 27 Jun Sun; 6 Nov Sat.
    assert_eq!(
        day_offs(&calendar, 2027),
        vec![
            (date(2027, 3, 25), Some(date(2027, 3, 21))),
            (date(2027, 5, 10), Some(date(2027, 5, 9))),
            (date(2027, 5, 17), Some(date(2027, 5, 16))),
            (date(2027, 6, 28), Some(date(2027, 6, 27))),
            (date(2027, 11, 8), Some(date(2027, 11, 6))),
        ]
    );
}

#[test]
fn navruz_week_of_2026_is_seven_days_off_in_a_row() {
    let calendar = tajikistan();
    for day in 20..=26 {
        assert!(!calendar.is_working_day(date(2026, 3, day)), "2026-03-{day}");
    }
    assert!(calendar.is_working_day(date(2026, 3, 19)));
    assert!(calendar.is_working_day(date(2026, 3, 27)));
    assert_eq!(calendar.next_working_day(date(2026, 3, 19)), date(2026, 3, 27));
    assert_eq!(calendar.working_day_on_or_after(date(2026, 3, 27)), date(2026, 3, 27));
    assert_eq!(calendar.working_days_between(date(2026, 3, 17), date(2026, 3, 31)), 5);
    assert_eq!(calendar.working_days_between(date(2026, 3, 31), date(2026, 3, 17)), 0);
}

#[test]
fn eids_are_provisional_and_their_transfers_inherit_the_flag() {
    let calendar = tajikistan();
    let ramazon = calendar.entry(date(2026, 3, 20)).unwrap();
    assert_eq!(ramazon.kind, EntryKind::Holiday);
    assert!(ramazon.provisional);
    assert_eq!(ramazon.names.get(Locale::Tg), "Иди Рамазон");
    assert!(!calendar.entry(date(2026, 1, 1)).unwrap().provisional);
    assert!(calendar.entry(date(2027, 5, 17)).unwrap().provisional);
}

#[test]
fn a_transfer_never_lands_on_another_holiday_or_day_off() {
    // Sat 7 Mar holiday; Mon 9 Mar holiday; Tue 10 Mar a day off by decree: the transfer
    // skips Sunday, both, and lands on Wed 11 Mar.
    let calendar = only_2026(
        r#"
        [[holiday]]
        date = 2026-03-07
        tg = "А"
        ru = "А"
        en = "A"
        [[holiday]]
        date = 2026-03-09
        tg = "Б"
        ru = "Б"
        en = "B"
        [[day_off]]
        date = 2026-03-10
        tg = "В"
        ru = "В"
        en = "C"
        "#,
    )
    .unwrap();
    assert_eq!(
        day_offs(&calendar, 2026),
        vec![(date(2026, 3, 10), None), (date(2026, 3, 11), Some(date(2026, 3, 7)))]
    );
}

#[test]
fn decree_moves_make_a_saturday_worked_and_a_weekday_off() {
    let calendar = only_2026(
        r#"
        [[working_day]]
        date = 2026-01-03
        tg = "Рӯзи корӣ"
        ru = "Рабочий день"
        en = "Working day"
        [[day_off]]
        date = 2026-01-02
        moved_from = 2026-01-03
        tg = "Рӯзи истироҳат"
        ru = "Выходной день"
        en = "Day off"
        "#,
    )
    .unwrap();
    assert!(calendar.is_working_day(date(2026, 1, 3)), "Saturday worked by decree");
    assert!(!calendar.is_working_day(date(2026, 1, 2)), "Friday off by decree");
    assert!(!calendar.is_working_day(date(2026, 1, 4)), "Sunday stays off");
    assert_eq!(calendar.entry(date(2026, 1, 2)).unwrap().moved_from, Some(date(2026, 1, 3)));
}

#[test]
fn a_year_listing_serializes_every_entry_in_date_order() {
    let listing = tajikistan().year(2026).unwrap();
    assert_eq!(listing.time_zone, "Asia/Dushanbe");
    assert_eq!(listing.weekend, vec!["saturday", "sunday"]);
    // 9 holidays with Navruz as 4 days, plus 5 transfers.
    assert_eq!(listing.entries.len(), 12 + 5);
    assert!(listing.entries.windows(2).all(|w| w[0].date < w[1].date));
    let json = serde_json::to_value(&listing).unwrap();
    let transfer = &json["entries"][2];
    assert_eq!(transfer["date"], "2026-03-09");
    assert_eq!(transfer["kind"], "day_off");
    assert_eq!(transfer["moved_from"], "2026-03-08");
    assert_eq!(transfer["names"]["tg"], "Рӯзи Модар");
    assert_eq!(transfer["provisional"], false);
    assert!(tajikistan().year(2030).is_none());
}

#[test]
fn the_day_ends_at_235959_dushanbe_time_which_is_185959_utc() {
    let calendar = tajikistan();
    assert_eq!(
        calendar.end_of_day(date(2026, 4, 14)),
        Utc.with_ymd_and_hms(2026, 4, 14, 18, 59, 59).unwrap()
    );
    assert_eq!(
        calendar.start_of_day(date(2026, 4, 14)),
        Utc.with_ymd_and_hms(2026, 4, 13, 19, 0, 0).unwrap()
    );
}

#[test]
fn local_dates_follow_the_calendars_time_zone_not_utc() {
    let calendar = tajikistan();
    // 00:10 on 17 March in Dushanbe is still 16 March in UTC.
    assert_eq!(calendar.local_date(Utc.with_ymd_and_hms(2026, 3, 16, 19, 10, 0).unwrap()), date(2026, 3, 17));
    // 23:30 on 16 March in Dushanbe is 18:30 UTC the same day.
    assert_eq!(calendar.local_date(Utc.with_ymd_and_hms(2026, 3, 16, 18, 30, 0).unwrap()), date(2026, 3, 16));
}

#[test]
fn a_day_starts_when_a_daylight_saving_gap_at_midnight_ends() {
    // Chile springs forward at 00:00 local: 2024-09-08 starts at 01:00 -03 = 04:00 UTC.
    let rules = CalendarRules { time_zone: chrono_tz::America::Santiago, weekend: Weekend::default() };
    let calendar = BusinessCalendar::weekends_only(rules);
    assert_eq!(calendar.start_of_day(date(2024, 9, 8)), Utc.with_ymd_and_hms(2024, 9, 8, 4, 0, 0).unwrap());
    assert_eq!(calendar.end_of_day(date(2024, 9, 7)), Utc.with_ymd_and_hms(2024, 9, 8, 3, 59, 59).unwrap());
}

#[test]
fn a_weekend_cannot_be_the_whole_week() {
    assert!(Weekend::new([Weekday::Fri]).is_some());
    assert!(Weekend::new(WEEK).is_none());
    let all = r#"time_zone = "UTC"
weekend = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]"#;
    assert!(matches!(BusinessCalendar::from_toml(all, &[]), Err(CalendarError::WholeWeekIsWeekend)));
}

#[test]
fn bad_files_are_refused_with_the_file_year_or_date_at_fault() {
    let err = |result: Result<BusinessCalendar, CalendarError>| result.unwrap_err().to_string();

    let syntax =
        err(BusinessCalendar::from_toml(TJ_BASE, &[("tj-2026.toml", "year = 2026\n[[holiday]]\ndate = \n")]));
    assert!(syntax.starts_with("tj-2026.toml:") && syntax.contains("line 3"), "{syntax}");

    let tz = err(BusinessCalendar::from_toml("time_zone = \"Asia/Dushanbeh\"", &[]));
    assert_eq!(tz, "calendar base file: unknown time zone 'Asia/Dushanbeh'");

    let day = err(BusinessCalendar::from_toml("time_zone = \"UTC\"\nweekend = [\"caturday\"]", &[]));
    assert_eq!(day, "calendar base file: 'caturday' is not a day of the week");

    let entry =
        |kind: &str, at: &str| format!("[[{kind}]]\ndate = {at}\ntg = \"т\"\nru = \"р\"\nen = \"e\"\n");

    let outside = err(only_2026(&entry("holiday", "2025-12-31")));
    assert_eq!(outside, "year 2026: entry on 2025-12-31 lies outside the year");

    let twice = err(only_2026(&(entry("holiday", "2026-01-01") + &entry("day_off", "2026-01-01"))));
    assert_eq!(twice, "2026-01-01: two entries on one date ('e' and 'e')");

    let wednesday = err(only_2026(&entry("working_day", "2026-01-07")));
    assert_eq!(wednesday, "2026-01-07: a working day moved by decree must fall on a weekend day");

    let with_time = err(only_2026(&entry("holiday", "2026-01-01T10:00:00")));
    assert_eq!(with_time, "test.toml: '2026-01-01T10:00:00' is not a plain date like 2026-03-21");

    let backwards = err(only_2026(
        "[[holiday]]\ndate = 2026-03-24\nuntil = 2026-03-21\ntg = \"т\"\nru = \"р\"\nen = \"e\"\n",
    ));
    assert_eq!(backwards, "test.toml: entry on 2026-03-24 ends on 2026-03-21, before it starts");

    let year = "year = 2026\n";
    let dup = err(BusinessCalendar::from_toml(TJ_BASE, &[("a.toml", year), ("b.toml", year)]));
    assert_eq!(dup, "year 2026 is given twice");
}

/// Random holidays in 2026, as (day of year) numbers.
fn holiday_days() -> impl Strategy<Value = Vec<u32>> {
    proptest::collection::btree_set(1u32..=365, 0..40).prop_map(|set| set.into_iter().collect())
}

proptest! {
    #[test]
    fn transfers_land_on_distinct_free_weekdays_after_their_holiday(days in holiday_days()) {
        let weekend = Weekend::default();
        let names = Names { tg: "т".into(), ru: "р".into(), en: "e".into() };
        let declared: Vec<CalendarEntry> = days
            .iter()
            .map(|d| CalendarEntry {
                date: NaiveDate::from_yo_opt(2026, *d).unwrap(),
                kind: EntryKind::Holiday,
                names: names.clone(),
                provisional: false,
                moved_from: None,
            })
            .collect();
        let transfers = derive_transfers(weekend, &declared);

        let on_weekend = declared.iter().filter(|e| weekend.contains(e.date.weekday())).count();
        prop_assert_eq!(transfers.len(), on_weekend);
        let mut seen = std::collections::BTreeSet::new();
        for transfer in &transfers {
            prop_assert!(!weekend.contains(transfer.date.weekday()));
            prop_assert!(declared.iter().all(|e| e.date != transfer.date));
            prop_assert!(transfer.moved_from.is_some_and(|from| from < transfer.date));
            prop_assert!(seen.insert(transfer.date));
        }
    }
}
