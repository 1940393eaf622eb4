use chrono::TimeZone;

use super::*;

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
}

fn event(action: &str, status_after: &str, when: DateTime<Utc>) -> StintEvent {
    StintEvent {
        action: action.to_owned(),
        status_after: status_after.to_owned(),
        at: when,
        actor_id: None,
        agency_id: None,
        assignee_id: None,
        due_at: None,
    }
}

const A: Uuid = Uuid::from_u128(1);
const B: Uuid = Uuid::from_u128(2);
const OFFICIAL: Uuid = Uuid::from_u128(3);

#[test]
fn a_forwarded_appeal_is_received_by_both_agencies_and_forwarded_out_by_the_first() {
    let mut stints = Vec::new();
    apply(
        &mut stints,
        &StintEvent { agency_id: Some(A), due_at: Some(at(20, 18)), ..event("file", "registered", at(2, 5)) },
    );
    apply(&mut stints, &StintEvent { actor_id: Some(OFFICIAL), ..event("take", "in_progress", at(3, 5)) });
    apply(
        &mut stints,
        &StintEvent {
            agency_id: Some(B),
            due_at: Some(at(25, 18)),
            ..event("forward", "registered", at(4, 5))
        },
    );
    apply(&mut stints, &event("answer", "answered", at(24, 5)));
    assert_eq!(stints.len(), 2);
    assert_eq!(
        (stints[0].agency_id, stints[0].outcome, stints[0].ended_at),
        (A, Some(StintOutcome::Forwarded), Some(at(4, 5)))
    );
    assert_eq!(stints[0].official_id, Some(OFFICIAL));
    assert_eq!((stints[1].seq, stints[1].agency_id, stints[1].received_at), (2, B, at(4, 5)));
    assert_eq!(stints[1].official_id, None);
    assert_eq!(stints[1].answered_on_time(), Some(true));
    assert_eq!(stints[1].days_to_answer(chrono_tz::Asia::Dushanbe), Some(20));
}

#[test]
fn reopening_a_contested_answer_opens_the_stint_again_and_withdrawing_a_contest_keeps_the_answer() {
    let mut stints = Vec::new();
    apply(
        &mut stints,
        &StintEvent { agency_id: Some(A), due_at: Some(at(20, 18)), ..event("file", "registered", at(2, 5)) },
    );
    apply(&mut stints, &event("answer", "answered", at(10, 5)));
    apply(&mut stints, &event("contest", "contested", at(11, 5)));
    assert_eq!(stints[0].outcome, Some(StintOutcome::Answered));
    apply(&mut stints, &event("reopen", "in_progress", at(12, 5)));
    assert_eq!((stints[0].outcome, stints[0].ended_at), (None, None));
    apply(&mut stints, &event("answer", "answered", at(21, 5)));
    assert_eq!(stints[0].answered_on_time(), Some(false));
    apply(&mut stints, &event("contest", "contested", at(22, 5)));
    apply(&mut stints, &event("withdraw", "closed", at(23, 5)));
    assert_eq!(stints[0].outcome, Some(StintOutcome::Answered));
}

#[test]
fn extensions_move_the_deadline_and_are_counted_per_stint() {
    let mut stints = Vec::new();
    apply(
        &mut stints,
        &StintEvent { agency_id: Some(A), due_at: Some(at(20, 18)), ..event("file", "registered", at(2, 5)) },
    );
    apply(
        &mut stints,
        &StintEvent { due_at: Some(at(30, 18)), ..event("grant_extension", "in_progress", at(5, 5)) },
    );
    apply(&mut stints, &event("answer", "answered", at(25, 5)));
    assert_eq!((stints[0].extensions, stints[0].due_at), (1, at(30, 18)));
    assert_eq!(stints[0].answered_on_time(), Some(true));
}

#[test]
fn events_before_a_filing_change_nothing() {
    let mut stints = Vec::new();
    apply(&mut stints, &event("answer", "answered", at(2, 5)));
    apply(&mut stints, &StintEvent { agency_id: Some(B), ..event("forward", "registered", at(2, 5)) });
    assert!(stints.is_empty());
}

#[test]
fn settle_copies_the_pause_only_into_an_open_stint_at_the_current_agency() {
    let mut stints = Vec::new();
    apply(
        &mut stints,
        &StintEvent { agency_id: Some(A), due_at: Some(at(20, 18)), ..event("file", "registered", at(2, 5)) },
    );
    let current =
        Current { agency_id: A, assignee_id: Some(OFFICIAL), due_at: at(22, 18), paused_at: Some(at(5, 5)) };
    settle(&mut stints, current);
    assert_eq!(
        (stints[0].due_at, stints[0].paused_at, stints[0].official_id),
        (at(22, 18), Some(at(5, 5)), Some(OFFICIAL))
    );
    settle(&mut stints, Current { agency_id: B, ..current });
    assert_eq!(stints[0].due_at, at(22, 18));
}

#[test]
fn a_contest_leaves_the_answers_deadline_and_a_reopening_sets_the_new_one() {
    let mut stints = Vec::new();
    apply(
        &mut stints,
        &StintEvent { agency_id: Some(A), due_at: Some(at(20, 18)), ..event("file", "registered", at(2, 5)) },
    );
    apply(&mut stints, &event("answer", "answered", at(21, 5)));
    assert_eq!(stints[0].answered_on_time(), Some(false));
    // Contested: the appeal now runs against the review's period; the late answer stays late.
    apply(&mut stints, &StintEvent { due_at: Some(at(28, 18)), ..event("contest", "contested", at(22, 5)) });
    let current = Current { agency_id: A, assignee_id: None, due_at: at(28, 18), paused_at: None };
    settle(&mut stints, current);
    assert_eq!((stints[0].due_at, stints[0].answered_on_time()), (at(20, 18), Some(false)));
    // Reopened: the agency answers again by the reopening's deadline.
    apply(&mut stints, &StintEvent { due_at: Some(at(29, 18)), ..event("reopen", "in_progress", at(23, 5)) });
    settle(&mut stints, Current { due_at: at(29, 18), ..current });
    apply(&mut stints, &event("answer", "answered", at(27, 5)));
    assert_eq!((stints[0].due_at, stints[0].answered_on_time()), (at(29, 18), Some(true)));
}

#[test]
fn an_answer_at_half_past_eleven_at_night_on_the_due_day_is_on_time_and_counted_on_that_day() {
    let tz = chrono_tz::Asia::Dushanbe; // UTC+5
    let due = Utc.with_ymd_and_hms(2026, 3, 20, 18, 59, 59).unwrap(); // 23:59:59 local
    let mut stints = Vec::new();
    apply(
        &mut stints,
        &StintEvent { agency_id: Some(A), due_at: Some(due), ..event("file", "registered", at(2, 20)) },
    );
    let answered = Utc.with_ymd_and_hms(2026, 3, 20, 18, 30, 0).unwrap();
    apply(&mut stints, &event("answer", "answered", answered));
    assert_eq!(local_day(answered, tz), NaiveDate::from_ymd_opt(2026, 3, 20).unwrap());
    assert_eq!(local_day(at(2, 20), tz), NaiveDate::from_ymd_opt(2026, 3, 3).unwrap());
    assert_eq!(stints[0].answered_on_time(), Some(true));
    assert_eq!(stints[0].days_to_answer(tz), Some(17));
}

#[test]
fn percentiles_are_nearest_rank() {
    let mut histogram = DaysHistogram::default();
    assert_eq!(histogram.percentile(50), None);
    for (days, count) in [(1, 1), (2, 1), (3, 1), (4, 1), (10, 1)] {
        histogram.add(days, count);
    }
    assert_eq!(histogram.percentile(50), Some(3));
    assert_eq!(histogram.percentile(90), Some(10));
    let mut other = DaysHistogram::default();
    other.add(1, 5);
    histogram.merge(&other);
    assert_eq!(histogram.percentile(50), Some(1));
}

#[test]
fn the_on_time_rate_is_rounded_to_a_tenth_of_a_percent() {
    let counts = Counts { answered: 3, answered_on_time: 2, ..Counts::default() };
    assert_eq!(counts.on_time_rate(), Some(66.7));
    assert_eq!(counts.answered_late(), 1);
    assert_eq!(Counts::default().on_time_rate(), None);
}

#[test]
fn trend_points_start_on_mondays_or_on_the_first_of_the_month() {
    let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
    assert_eq!(bucket_of(day(3, 4), Interval::Week), day(3, 2));
    assert_eq!(bucket_of(day(3, 2), Interval::Week), day(3, 2));
    assert_eq!(buckets(day(1, 15), day(3, 1), Interval::Month), vec![day(1, 1), day(2, 1), day(3, 1)]);
    assert_eq!(buckets(day(3, 4), day(3, 16), Interval::Week), vec![day(3, 2), day(3, 9), day(3, 16)]);
}

#[test]
fn trend_points_stop_at_the_last_date_there_is() {
    let last = NaiveDate::MAX;
    let december = last.with_day(1).unwrap();
    assert_eq!(buckets(december, last, Interval::Month), vec![december]);
    let weeks = buckets(last - Days::new(20), last, Interval::Week);
    assert!(weeks.last().is_some_and(|monday| (last - *monday).num_days() < 7), "{weeks:?}");
    assert_eq!(bucket_of(NaiveDate::MIN, Interval::Week), NaiveDate::MIN, "no Monday before the first date");
}

#[test]
fn csv_quotes_only_what_needs_quoting_and_starts_with_a_byte_order_mark() {
    assert_eq!(csv_field("Душанбе"), "Душанбе");
    assert_eq!(csv_field("a, \"b\""), "\"a, \"\"b\"\"\"");
    // A typed name that a spreadsheet would run stays text; numbers stay numbers.
    assert_eq!(csv_field("=HYPERLINK(\"http://x/\",\"x\")"), "\"'=HYPERLINK(\"\"http://x/\"\",\"\"x\"\")\"");
    assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
    assert_eq!(csv_field("-3"), "-3");
    assert_eq!(csv_field("-"), "'-");
    let document = csv_document(&["Код", "Name"], &[vec!["1".into(), "x\ny".into()]]);
    assert_eq!(document, "\u{feff}Код,Name\r\n1,\"x\ny\"\r\n");
}

#[test]
fn day_numbers_count_from_1970_and_convert_back() {
    let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    assert_eq!(day_number(NaiveDate::from_ymd_opt(1970, 1, 2).unwrap()), 1);
    assert_eq!(date_of_day(day_number(day)), day);
    assert!(day_number(day) < day_number(day.succ_opt().unwrap()));
}
