//! The deadline rules, as tables on the real 2026 Tajik calendar and as properties.
//!
//! Reading the 2026 calendar (config/calendar/tj-2026.toml, transfers derived): days off
//! around Navruz are Fri 20 Mar (Idi Ramazon, provisional), Sat 21 - Tue 24 Mar (Navruz),
//! and Wed 25 / Thu 26 Mar (Navruz's Saturday and Sunday moved), so 20-26 Mar is one
//! seven-day break. Dushanbe is UTC+5 all year: 23:59:59 local is 18:59:59Z.

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Asia::Dushanbe;
use proptest::prelude::*;

use super::*;
use crate::domain::calendar::tests::tajikistan;

const DEADLINES: &str = include_str!("../../../config/deadlines.toml");

fn policies() -> DeadlinePolicies {
    DeadlinePolicies::from_toml(DEADLINES).unwrap()
}

fn standard() -> DeadlinePolicy {
    policies().get("standard").unwrap().clone()
}

fn standard_in_working_days() -> DeadlinePolicy {
    DeadlinePolicy { day_count: DayCount::Working, ..standard() }
}

/// An instant given as Dushanbe local time.
fn local(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Dushanbe.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap().with_timezone(&Utc)
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

// ---- the policy file -------------------------------------------------------------------

#[test]
fn the_policy_file_holds_the_laws_defaults() {
    let policies = policies();
    let standard = policies.get("standard").unwrap();
    assert_eq!(standard.name, "standard");
    assert_eq!((standard.period_days, standard.day_count), (15, DayCount::Calendar));
    assert!(standard.roll_to_working_day);
    assert_eq!((standard.max_extension_days, standard.max_extensions), (30, 1));
    assert_eq!(standard.reminders.iter().map(|r| r.to_string()).collect::<Vec<_>>(), ["3wd", "1wd"]);
    assert_eq!(standard.reminder_time, chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap());
    assert_eq!((standard.forwarding_window_days, standard.forwarding_day_count), (5, DayCount::Working));
    assert!(!standard.forwarding_restarts_deadline);
    assert!(standard.pause_while_awaiting_citizen);
    let study = policies.get("study").unwrap();
    assert_eq!((study.period_days, study.max_extension_days, study.max_extensions), (30, 30, 1));
    assert_eq!(policies.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["standard", "study"]);
}

const MINIMAL: &str = r#"
[policy.quick]
period_days = 10
day_count = "working"
max_extension_days = 10
max_extensions = 2
forwarding_window_days = 3
forwarding_restarts_deadline = true
citizen_reply_days = 10
contest_window_days = 10
due_soon_days = 2
"#;

#[test]
fn optional_policy_settings_take_their_documented_defaults() {
    let policies = DeadlinePolicies::from_toml(MINIMAL).unwrap();
    let quick = policies.get("quick").unwrap();
    assert!(quick.roll_to_working_day);
    assert!(quick.pause_while_awaiting_citizen);
    assert!(quick.reminders.is_empty());
    assert_eq!(quick.forwarding_day_count, DayCount::Working);
}

#[test]
fn bad_policy_files_are_refused_with_the_policy_and_field_at_fault() {
    let err = |text: &str| DeadlinePolicies::from_toml(text).unwrap_err().to_string();
    assert_eq!(
        err(&MINIMAL.replace("period_days = 10", "period_days = 0")),
        "deadline policy 'quick': period_days must be between 1 and 3650, not 0"
    );
    assert_eq!(
        err(&format!("{MINIMAL}name = \"slow\"\n")),
        "deadline policy 'quick': name 'slow' differs from the table's key"
    );
    let unknown = err(&format!("{MINIMAL}perod_days = 3\n"));
    assert!(unknown.contains("perod_days") && unknown.contains("line 12"), "{unknown}");
    let reminder = err(&format!("{MINIMAL}reminders = [\"3 days\"]\n"));
    assert!(reminder.contains("'3 days' is not a reminder offset"), "{reminder}");
    let count = err(&MINIMAL.replace("\"working\"", "\"business\""));
    assert!(count.contains("business"), "{count}");
    assert_eq!(err(""), "deadline policies: no [policy.<name>] table");
}

#[test]
fn reminder_offsets_read_and_write_working_days_days_hours_and_minutes() {
    for (raw, minutes, shown) in
        [("3d", 4320, "3d"), ("12h", 720, "12h"), ("48h", 2880, "2d"), ("90m", 90, "90m")]
    {
        let offset = ReminderOffset::parse(raw).unwrap();
        assert_eq!(offset, ReminderOffset::Before { minutes }, "{raw}");
        assert_eq!(offset.to_string(), shown);
    }
    for (raw, days) in [("0wd", 0), ("1wd", 1), (" 3wd ", 3), ("3650wd", 3650)] {
        let offset = ReminderOffset::parse(raw).unwrap();
        assert_eq!(offset, ReminderOffset::WorkingDays(days), "{raw}");
        assert_eq!(offset.to_string(), format!("{days}wd"));
    }
    for bad in
        ["", "d", "0d", "-1d", "3", "3w", "1.5d", "3650d1", "3651d", "ж", "wd", "-1wd", "3651wd", "1.5wd"]
    {
        assert!(ReminderOffset::parse(bad).is_err(), "{bad:?}");
    }
}

// ---- due dates on the 2026 Tajik calendar --------------------------------------------

#[test]
fn registered_17_march_2026_in_working_days_lands_three_weeks_after_navruz() {
    // Registered Tue 17 Mar; the period starts Wed 18 Mar. Working days:
    //   1 Wed 18, 2 Thu 19 | Fri 20 - Thu 26 off (Idi Ramazon, Navruz, its two transfers)
    //   3 Fri 27, 4 Mon 30, 5 Tue 31, 6 Wed 1 Apr, 7 Thu 2, 8 Fri 3,
    //   9 Mon 6, 10 Tue 7, 11 Wed 8, 12 Thu 9, 13 Fri 10, 14 Mon 13, 15 Tue 14 Apr.
    // Due Tue 14 April 2026, 23:59:59 in Dushanbe = 18:59:59Z.
    let due = due_at(&standard_in_working_days(), &tajikistan(), local(2026, 3, 17, 10, 0, 0));
    assert_eq!(due, utc(2026, 4, 14, 18, 59, 59));
    assert_eq!(tajikistan().working_days_between(date(2026, 3, 17), date(2026, 4, 14)), 15);
}

#[test]
fn registered_17_march_2026_in_calendar_days_is_due_1_april() {
    // 17 Mar + 15 days = Wed 1 Apr, a working day: no roll.
    let due = due_at(&standard(), &tajikistan(), local(2026, 3, 17, 10, 0, 0));
    assert_eq!(due, utc(2026, 4, 1, 18, 59, 59));
}

#[test]
fn a_last_day_in_the_navruz_break_rolls_to_the_first_working_day_after_it() {
    // Registered Fri 6 Mar: 6 + 15 = Sat 21 Mar (Navruz). Rolling skips 21-26 Mar: Fri 27.
    let calendar = tajikistan();
    let registered = local(2026, 3, 6, 9, 0, 0);
    assert_eq!(due_at(&standard(), &calendar, registered), utc(2026, 3, 27, 18, 59, 59));
    let no_roll = DeadlinePolicy { roll_to_working_day: false, ..standard() };
    assert_eq!(due_at(&no_roll, &calendar, registered), utc(2026, 3, 21, 18, 59, 59));
}

#[test]
fn a_study_period_ending_on_unity_day_skips_its_transfer_too() {
    // Registered Thu 28 May: + 30 days = Sat 27 Jun (National Unity Day). Sun 28 is weekend,
    // Mon 29 is Unity Day's transfer, so the appeal is due Tue 30 Jun.
    let study = policies().get("study").unwrap().clone();
    assert_eq!(due_at(&study, &tajikistan(), local(2026, 5, 28, 15, 0, 0)), utc(2026, 6, 30, 18, 59, 59));
}

#[test]
fn a_period_ending_on_a_weekend_holidays_transfer_in_2027_rolls_past_it() {
    // 2027: Constitution Day, 6 Nov, is a Saturday, so Mon 8 Nov is a day off.
    // Registered Sun 24 Oct + 15 days = Mon 8 Nov -> rolls to Tue 9 Nov.
    assert_eq!(
        due_at(&standard(), &tajikistan(), local(2027, 10, 24, 12, 0, 0)),
        utc(2027, 11, 9, 18, 59, 59)
    );
}

#[test]
fn the_registration_day_is_the_local_date_in_dushanbe() {
    let calendar = tajikistan();
    // 23:30 on Mon 16 Mar local (18:30Z): registration day 16 Mar, due 16 + 15 = Tue 31 Mar.
    assert_eq!(due_at(&standard(), &calendar, local(2026, 3, 16, 23, 30, 0)), utc(2026, 3, 31, 18, 59, 59));
    // 00:10 on Tue 17 Mar local is 19:10Z on 16 Mar, the previous UTC day; the registration
    // day is still 17 Mar, so the appeal is due 1 Apr, not 31 Mar.
    let just_after_midnight = utc(2026, 3, 16, 19, 10, 0);
    assert_eq!(just_after_midnight, local(2026, 3, 17, 0, 10, 0));
    assert_eq!(due_at(&standard(), &calendar, just_after_midnight), utc(2026, 4, 1, 18, 59, 59));
}

#[test]
fn the_due_instant_is_the_last_second_of_the_local_day_and_overdue_begins_at_midnight() {
    let due = due_at(&standard(), &tajikistan(), local(2026, 3, 17, 10, 0, 0));
    let local_due = due.with_timezone(&Dushanbe);
    assert_eq!((local_due.hour(), local_due.minute(), local_due.second()), (23, 59, 59));
    assert_eq!(due, utc(2026, 4, 1, 18, 59, 59));
    assert_eq!(overdue_at(due), local(2026, 4, 2, 0, 0, 0));
}

#[test]
fn the_forwarding_window_counts_five_working_days() {
    // Registered Tue 17 Mar: Wed 18, Thu 19, (20-26 off), Fri 27, Mon 30, Tue 31 Mar.
    let forward_by = forwarding_due_at(&standard(), &tajikistan(), local(2026, 3, 17, 10, 0, 0));
    assert_eq!(forward_by, utc(2026, 3, 31, 18, 59, 59));
}

#[test]
fn forwarding_keeps_or_restarts_the_deadline_as_the_policy_says() {
    let calendar = tajikistan();
    let registered = local(2026, 3, 17, 10, 0, 0);
    let forwarded = local(2026, 3, 19, 16, 0, 0);
    let due = due_at(&standard(), &calendar, registered);
    assert_eq!(due_after_forwarding(&standard(), &calendar, due, forwarded), due);
    let restarts = DeadlinePolicy { forwarding_restarts_deadline: true, ..standard() };
    // Restarted on 19 Mar: 19 + 15 = Fri 3 Apr.
    assert_eq!(due_after_forwarding(&restarts, &calendar, due, forwarded), utc(2026, 4, 3, 18, 59, 59));
}

#[test]
fn the_citizens_reply_time_and_the_contest_window_count_like_the_period() {
    let calendar = tajikistan();
    // Asked on Tue 17 Mar: 17 + 15 = Wed 1 Apr.
    assert_eq!(
        citizen_reply_due_at(&standard(), &calendar, local(2026, 3, 17, 11, 0, 0)),
        utc(2026, 4, 1, 18, 59, 59)
    );
    // Answered on Wed 1 Apr: 1 Apr + 30 = Fri 1 May.
    assert_eq!(
        contest_window_closes_at(&standard(), &calendar, local(2026, 4, 1, 11, 0, 0)),
        utc(2026, 5, 1, 18, 59, 59)
    );
}

// ---- extensions, pauses, reminders, state --------------------------------------------

#[test]
fn one_extension_of_up_to_30_days_is_granted_and_no_more() {
    let calendar = tajikistan();
    let due = utc(2026, 4, 1, 18, 59, 59);
    let asked = utc(2026, 3, 25, 5, 0, 0);
    // 1 Apr + 30 days = Fri 1 May, a working day.
    assert_eq!(extend(&standard(), &calendar, due, 30, 0, asked), Ok(utc(2026, 5, 1, 18, 59, 59)));
    assert_eq!(
        extend(&standard(), &calendar, due, 31, 0, asked),
        Err(ExtensionRefused::TooLong { requested: 31, max: 30 })
    );
    assert_eq!(extend(&standard(), &calendar, due, 0, 0, asked), Err(ExtensionRefused::NoDays));
    assert_eq!(
        extend(&standard(), &calendar, due, 10, 1, asked),
        Err(ExtensionRefused::LimitReached { max: 1, granted: 1 })
    );
}

#[test]
fn a_deadline_is_extended_up_to_its_last_second_and_not_after() {
    let calendar = tajikistan();
    let due = utc(2026, 4, 1, 18, 59, 59);
    assert_eq!(extend(&standard(), &calendar, due, 10, 0, due), Ok(utc(2026, 4, 13, 18, 59, 59)));
    let passed = Err(ExtensionRefused::DeadlinePassed { due });
    assert_eq!(extend(&standard(), &calendar, due, 10, 0, overdue_at(due)), passed);
    assert_eq!(extend(&standard(), &calendar, due, 10, 0, utc(2026, 5, 1, 0, 0, 0)), passed);
}

#[test]
fn a_pause_moves_the_deadline_by_exactly_its_length() {
    let due = utc(2026, 4, 1, 18, 59, 59);
    let paused = utc(2026, 3, 20, 4, 0, 0);
    let resumed = utc(2026, 3, 23, 10, 30, 15); // 3 days 6 h 30 min 15 s later
    assert_eq!(due_after_pause(&standard(), due, paused, resumed), utc(2026, 4, 5, 1, 30, 14));
    assert_eq!(due_after_pause(&standard(), due, resumed, paused), due, "a backwards pause changes nothing");
    let no_pause = DeadlinePolicy { pause_while_awaiting_citizen: false, ..standard() };
    assert_eq!(due_after_pause(&no_pause, due, paused, resumed), due);
    // Paused two days before the deadline and resumed after it: the two days are left.
    let late_reply = utc(2026, 4, 13, 5, 0, 0);
    let two_days_before = utc(2026, 3, 30, 18, 59, 59);
    assert_eq!(due_after_pause(&standard(), due, two_days_before, late_reply), utc(2026, 4, 15, 5, 0, 0));
    // Paused when the deadline had passed: still as late as it was.
    let after_due = utc(2026, 4, 3, 5, 0, 0);
    assert_eq!(due_after_pause(&standard(), due, after_due, late_reply), due);
}

#[test]
fn a_duration_reminder_fires_exactly_that_long_before_the_due_instant() {
    let calendar = tajikistan();
    let due = utc(2026, 4, 1, 18, 59, 59);
    let at = |raw: &str| reminder_at(&standard(), &calendar, ReminderOffset::parse(raw).unwrap(), due);
    assert_eq!(at("3d"), utc(2026, 3, 29, 18, 59, 59));
    assert_eq!(at("12h"), utc(2026, 4, 1, 6, 59, 59));
}

#[test]
fn a_working_day_reminder_fires_at_the_start_of_the_office_day_and_skips_navruz() {
    let calendar = tajikistan();
    let policy =
        DeadlinePolicy { reminder_time: chrono::NaiveTime::from_hms_opt(8, 30, 0).unwrap(), ..standard() };
    let at = |raw: &str, due| reminder_at(&policy, &calendar, ReminderOffset::parse(raw).unwrap(), due);
    // Due at the end of Fri 27 Mar 2026; Fri 20 to Thu 26 Mar are days off (Idi Ramazon,
    // Navruz and its transfers), so the working day before the last is Thu 19 Mar.
    let due = local(2026, 3, 27, 23, 59, 59);
    assert_eq!(at("0wd", due), local(2026, 3, 27, 8, 30, 0));
    assert_eq!(at("1wd", due), local(2026, 3, 19, 8, 30, 0));
    assert_eq!(at("3wd", due), local(2026, 3, 17, 8, 30, 0));
    // Due at the end of Mon 6 Apr: one working day before is Friday, not Sunday night.
    let monday = local(2026, 4, 6, 23, 59, 59);
    assert_eq!(at("1wd", monday), local(2026, 4, 3, 8, 30, 0));
    // A last day that is a day off (a policy that does not roll): "0wd" is the working day
    // before it.
    let sunday = local(2026, 4, 5, 23, 59, 59);
    assert_eq!(at("0wd", sunday), local(2026, 4, 3, 8, 30, 0));
    assert_eq!(at("1wd", sunday), local(2026, 4, 2, 8, 30, 0));
    // Without a time of its own a policy reminds at 09:00.
    let nine = reminder_at(&standard(), &calendar, ReminderOffset::WorkingDays(1), monday);
    assert_eq!(nine, local(2026, 4, 3, 9, 0, 0));
}

#[test]
fn an_appeal_turns_due_soon_three_working_days_out_and_overdue_after_its_last_second() {
    let calendar = tajikistan();
    let policy = standard_in_working_days();
    let due = utc(2026, 4, 14, 18, 59, 59); // Tue 14 Apr, end of day
    let state = |now| DeadlineState::at(&policy, &calendar, due, now);
    // On Wed 8 Apr four working days remain (9, 10, 13, 14): on time.
    assert_eq!(state(local(2026, 4, 8, 12, 0, 0)), DeadlineState::OnTime);
    // On Thu 9 Apr three remain (10, 13, 14): due soon. Over the weekend, still due soon.
    assert_eq!(state(local(2026, 4, 9, 0, 0, 0)), DeadlineState::DueSoon);
    assert_eq!(state(local(2026, 4, 12, 12, 0, 0)), DeadlineState::DueSoon);
    assert_eq!(state(due), DeadlineState::DueSoon);
    assert_eq!(state(due + TimeDelta::milliseconds(999)), DeadlineState::DueSoon);
    assert_eq!(state(overdue_at(due)), DeadlineState::Overdue);
    assert_eq!(DeadlineState::Overdue.to_string(), "overdue");
}

// ---- replaying a history on an edited calendar ------------------------------------------

/// The Tajik calendar with 2026's Idi Qurbon decreed on `day` of May instead of the
/// provisional 27 May.
fn tajikistan_with_qurbon_on(day: u32) -> BusinessCalendar {
    const BASE: &str = include_str!("../../../config/calendar/tj.toml");
    const Y2026: &str = include_str!("../../../config/calendar/tj-2026.toml");
    let edited = Y2026.replace("date = 2026-05-27", &format!("date = 2026-05-{day:02}"));
    assert_ne!(edited, Y2026);
    BusinessCalendar::from_toml(BASE, &[("tj-2026.toml", &edited)]).unwrap()
}

#[test]
fn a_replayed_history_gives_the_due_instant_each_step_gave_on_the_calendar_it_was_given_on() {
    let calendar = tajikistan();
    let policy = standard();
    // Registered Mon 4 May 2026; asked for information on the 8th, answered on the 11th;
    // extended by 10 days on the 13th; contested after an answer on 1 June.
    let registered = local(2026, 5, 4, 10, 0, 0);
    let (asked, answered) = (local(2026, 5, 8, 9, 0, 0), local(2026, 5, 11, 16, 30, 0));
    let mut due = due_at(&policy, &calendar, registered);
    assert_eq!(replay(&policy, &calendar, &[DeadlineStep::Start(registered)]), Some(due));
    due = due_after_pause(&policy, due, asked, answered);
    due = extend(&policy, &calendar, due, 10, 0, local(2026, 5, 13, 10, 0, 0)).unwrap();
    let steps = [
        DeadlineStep::Start(registered),
        DeadlineStep::Pause(asked),
        DeadlineStep::Resume(answered),
        DeadlineStep::Extend(10),
    ];
    assert_eq!(replay(&policy, &calendar, &steps), Some(due));
    let contested = local(2026, 6, 1, 12, 0, 0);
    let steps = [&steps[..], &[DeadlineStep::Start(contested)]].concat();
    assert_eq!(replay(&policy, &calendar, &steps), Some(due_at(&policy, &calendar, contested)));
    // Forwarding keeps the deadline unless the policy restarts it; an unopened pause is
    // no pause; nothing before the registration gives a deadline.
    let forwarded = [DeadlineStep::Start(registered), DeadlineStep::Forward(asked)];
    assert_eq!(replay(&policy, &calendar, &forwarded), Some(due_at(&policy, &calendar, registered)));
    let restarting = DeadlinePolicy { forwarding_restarts_deadline: true, ..standard() };
    assert_eq!(replay(&restarting, &calendar, &forwarded), Some(due_at(&policy, &calendar, asked)));
    let resumed_only = [DeadlineStep::Start(registered), DeadlineStep::Resume(answered)];
    assert_eq!(replay(&policy, &calendar, &resumed_only), Some(due_at(&policy, &calendar, registered)));
    assert_eq!(replay(&policy, &calendar, &[DeadlineStep::Extend(3)]), None);
}

#[test]
fn a_holiday_decreed_on_another_day_moves_the_deadlines_that_crossed_either_day() {
    let provisional = tajikistan();
    let decreed = tajikistan_with_qurbon_on(26);
    let policy = standard();
    // Registered Tue 12 May: 12 + 15 = Wed 27 May, the provisional Idi Qurbon, so due
    // Thu 28 May. Decreed on Tue 26 May instead, the 27th is a working day again.
    let steps = [DeadlineStep::Start(local(2026, 5, 12, 10, 0, 0))];
    assert_eq!(replay(&policy, &provisional, &steps), Some(utc(2026, 5, 28, 18, 59, 59)));
    assert_eq!(replay(&policy, &decreed, &steps), Some(utc(2026, 5, 27, 18, 59, 59)));
    // Registered Mon 11 May: due Tue 26 May, now the holiday: Wed 27 May.
    let steps = [DeadlineStep::Start(local(2026, 5, 11, 10, 0, 0))];
    assert_eq!(replay(&policy, &provisional, &steps), Some(utc(2026, 5, 26, 18, 59, 59)));
    assert_eq!(replay(&policy, &decreed, &steps), Some(utc(2026, 5, 27, 18, 59, 59)));
    // In working days, every period over either day moves.
    let working = standard_in_working_days();
    let steps = [DeadlineStep::Start(local(2026, 5, 20, 10, 0, 0))];
    let (before, after) = (replay(&working, &provisional, &steps), replay(&working, &decreed, &steps));
    assert_eq!(before, after, "one day off for another within the period: the same count");
    let steps = [DeadlineStep::Start(local(2026, 5, 4, 10, 0, 0))];
    assert_eq!(replay(&working, &provisional, &steps), Some(utc(2026, 5, 26, 18, 59, 59)));
    assert_eq!(replay(&working, &decreed, &steps), Some(utc(2026, 5, 27, 18, 59, 59)));
}

// ---- properties ------------------------------------------------------------------------

/// Instants from 2025-01-01 to 2027-12-01 (the period then still ends inside the loaded years).
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let from = utc(2025, 1, 1, 0, 0, 0).timestamp();
    let to = utc(2027, 12, 1, 0, 0, 0).timestamp();
    (from..to, 0u32..1_000_000_000).prop_map(|(secs, nanos)| DateTime::from_timestamp(secs, nanos).unwrap())
}

fn day_count() -> impl Strategy<Value = DayCount> {
    prop_oneof![Just(DayCount::Calendar), Just(DayCount::Working)]
}

fn policy(count: impl Strategy<Value = DayCount>) -> impl Strategy<Value = DeadlinePolicy> {
    (1u32..=30, count, 1u32..=30, 0u32..=10).prop_map(
        |(period_days, day_count, max_extension_days, due_soon_days)| DeadlinePolicy {
            period_days,
            day_count,
            max_extension_days,
            due_soon_days,
            ..standard()
        },
    )
}

proptest! {
    #[test]
    fn a_working_day_reminder_falls_on_a_working_day_in_office_hours_before_the_deadline(
        policy in policy(day_count()),
        registered in instant(),
        days in 0u32..20,
    ) {
        let calendar = tajikistan();
        let due = due_at(&policy, &calendar, registered);
        let at = reminder_at(&policy, &calendar, ReminderOffset::WorkingDays(days), due);
        let day = calendar.local_date(at);
        prop_assert!(calendar.is_working_day(day), "{due} -> {at}");
        prop_assert_eq!(at, calendar.at_local_time(day, policy.reminder_time));
        prop_assert!(at < due);
        prop_assert_eq!(calendar.working_days_between(day, calendar.local_date(due)), days);
    }

    #[test]
    fn with_rolling_the_deadline_is_never_on_a_day_off(policy in policy(day_count()), registered in instant()) {
        let calendar = tajikistan();
        let due = due_at(&policy, &calendar, registered);
        let due_date = calendar.local_date(due);
        prop_assert!(calendar.is_working_day(due_date), "{registered} -> {due}");
        prop_assert_eq!(due, calendar.end_of_day(due_date));
        prop_assert!(due_date > calendar.local_date(registered));
    }

    #[test]
    fn a_working_day_period_spans_exactly_its_number_of_working_days(
        policy in policy(Just(DayCount::Working)),
        registered in instant(),
    ) {
        let calendar = tajikistan();
        let due = due_at(&policy, &calendar, registered);
        let counted = calendar.working_days_between(calendar.local_date(registered), calendar.local_date(due));
        prop_assert_eq!(counted, policy.period_days);
    }

    #[test]
    fn a_calendar_day_period_ends_on_its_nth_day_or_the_first_working_day_after(
        policy in policy(Just(DayCount::Calendar)),
        registered in instant(),
    ) {
        let calendar = tajikistan();
        let nth_day = calendar.local_date(registered) + TimeDelta::days(i64::from(policy.period_days));
        let due_date = calendar.local_date(due_at(&policy, &calendar, registered));
        prop_assert_eq!(due_date, calendar.working_day_on_or_after(nth_day));
    }

    #[test]
    fn an_extension_never_moves_a_deadline_earlier(
        policy in policy(day_count()),
        current_due in instant(),
        requested in 1u32..=30,
    ) {
        let calendar = tajikistan();
        let asked = current_due - TimeDelta::days(1);
        if let Ok(extended) = extend(&policy, &calendar, current_due, requested, 0, asked) {
            prop_assert!(extended > current_due);
            prop_assert!(calendar.is_working_day(calendar.local_date(extended)));
        } else {
            prop_assert!(requested > policy.max_extension_days);
        }
    }

    #[test]
    fn pausing_for_exactly_d_moves_the_deadline_by_exactly_d(
        due in instant(),
        paused_at in instant(),
        seconds in 0i64..=90 * 86_400,
        nanos in 0i64..1_000_000_000,
    ) {
        let d = TimeDelta::seconds(seconds) + TimeDelta::nanoseconds(nanos);
        let moved = due_after_pause(&standard(), due, paused_at, paused_at + d) - due;
        // The clock stops only while time is left; once overdue, asking moves nothing.
        prop_assert_eq!(moved, if paused_at < due { d } else { TimeDelta::zero() });
    }

    #[test]
    fn the_boundaries_put_every_due_instant_in_the_state_it_has(
        policy in policy(day_count()),
        due in instant(),
        now in instant(),
        near in prop_oneof![Just(None), (-5i64..=5).prop_map(Some)],
    ) {
        use chrono::SubsecRound;
        let calendar = tajikistan();
        // Stored instants are whole microseconds; some right at the overdue edge.
        let due = match near {
            Some(micros) => now.trunc_subsecs(6) - TimeDelta::seconds(1) + TimeDelta::microseconds(micros),
            None => due.trunc_subsecs(6),
        };
        let (due_soon_from, on_time_from) = DeadlineState::boundaries(&policy, &calendar, now);
        let by_range = if due < due_soon_from {
            DeadlineState::Overdue
        } else if due < on_time_from {
            DeadlineState::DueSoon
        } else {
            DeadlineState::OnTime
        };
        prop_assert_eq!(by_range, DeadlineState::at(&policy, &calendar, due, now));
    }

    #[test]
    fn the_state_moves_only_forwards_as_time_passes(
        policy in policy(day_count()),
        due in instant(),
        earlier in instant(),
        later_by in 0i64..=60 * 86_400,
    ) {
        let calendar = tajikistan();
        let rank = |s: DeadlineState| DeadlineState::ALL.iter().position(|x| *x == s);
        let before = DeadlineState::at(&policy, &calendar, due, earlier);
        let after = DeadlineState::at(&policy, &calendar, due, earlier + TimeDelta::seconds(later_by));
        prop_assert!(rank(before) <= rank(after));
    }
}
