//! Properties over random rulesets and appeals: routing is total, lands on an active
//! agency, is deterministic, and the index never changes the decision.

use chrono::NaiveDate;
use proptest::prelude::*;
use proptest::sample::select;

use super::super::*;
use super::catalog;
use crate::domain::appeal::{AppealKind, ApplicantType, Channel, Priority};

const CATEGORIES: &[&str] =
    &["utilities", "water-supply", "heating", "education", "schools", "corruption", "other"];
const TERRITORIES: &[&str] = &[
    "tj-dushanbe",
    "tj-dushanbe-sino",
    "tj-dushanbe-firdavsi",
    "tj-sughd",
    "tj-sughd-khujand",
    "tj-sughd-isfara",
];
const AGENCIES: &[&str] =
    &["vodokanal", "mvd", "anticorruption", "maorif", "edu-sino", "closed", "no-such-agency"];
const KINDS: &[&str] = &["education-department", "district-hukumat", "land-office"];
const WORDS: &[&str] = &["об", "обу", "қубур", "ҚУБУРҲО", "хукук", "ҳуқуқ", "ришва", "мактаб"];

fn some_of<T: Clone + std::fmt::Debug + 'static>(
    values: &'static [T],
) -> impl Strategy<Value = Option<Vec<T>>> {
    proptest::option::weighted(0.3, proptest::collection::vec(select(values), 1..3))
}

fn codes(values: &'static [&'static str]) -> impl Strategy<Value = Option<Vec<String>>> {
    some_of(values).prop_map(|codes| codes.map(|c| c.into_iter().map(str::to_owned).collect()))
}

fn words() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(select(WORDS).prop_map(str::to_owned), 0..2)
}

fn day() -> impl Strategy<Value = NaiveDate> {
    (0u32..60).prop_map(|offset| {
        NaiveDate::from_ymd_opt(2026, 5, 1).unwrap_or_default() + chrono::Days::new(offset.into())
    })
}

fn leaf() -> impl Strategy<Value = Condition> {
    (
        some_of(AppealKind::ALL),
        codes(CATEGORIES),
        codes(TERRITORIES),
        proptest::option::weighted(0.3, (words(), words(), words())),
        proptest::option::weighted(0.2, any::<bool>()),
        some_of(ApplicantType::ALL),
        some_of(Channel::ALL),
        proptest::option::weighted(0.2, (proptest::option::of(day()), proptest::option::of(day()))),
    )
        .prop_map(|(kind, category, territory, keywords, collective, applicant_type, channel, filed)| {
            Condition {
                kind,
                category,
                territory,
                keywords: keywords.map(|(any, all, none)| Keywords { any, all, none }),
                collective,
                applicant_type,
                channel,
                filed: filed.map(|(from, until)| DateWindow { from, until }),
                ..Condition::default()
            }
        })
}

fn condition() -> impl Strategy<Value = Condition> {
    leaf().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (leaf(), proptest::collection::vec(inner.clone(), 0..3))
                .prop_map(|(c, all)| { Condition { all: Some(all), ..c } }),
            (leaf(), proptest::collection::vec(inner.clone(), 0..3))
                .prop_map(|(c, any)| { Condition { any: Some(any), ..c } }),
            (leaf(), inner).prop_map(|(c, not)| Condition { not: Some(Box::new(not)), ..c }),
        ]
    })
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        select(AGENCIES).prop_map(|a| Target::Agency(a.to_owned())),
        select(KINDS).prop_map(|k| Target::AgencyOfKind(k.to_owned())),
    ]
}

fn ruleset() -> impl Strategy<Value = Ruleset> {
    let rule = (-2i32..3, condition(), target(), proptest::option::of(select(Priority::ALL)));
    proptest::collection::vec(rule, 0..25).prop_map(|rules| Ruleset {
        fallback_agency: "president-office".into(),
        default_policy: STANDARD_POLICY.into(),
        rules: rules
            .into_iter()
            .enumerate()
            .map(|(at, (priority, when, target, given))| Rule {
                id: format!("r{at}"),
                priority,
                description: None,
                when,
                then: Action { target, policy: None, priority: given, tags: vec![format!("t{at}")] },
                line: None,
            })
            .collect(),
    })
}

fn facts() -> impl Strategy<Value = RoutingFacts> {
    let category = prop_oneof![9 => select(CATEGORIES), 1 => Just("unknown-category")];
    let territory = prop_oneof![9 => select(TERRITORIES), 1 => Just("tj-unknown")];
    (
        select(AppealKind::ALL),
        category,
        territory,
        proptest::collection::vec(select(WORDS), 0..4),
        any::<bool>(),
        select(ApplicantType::ALL),
        select(Channel::ALL),
        day(),
    )
        .prop_map(|(kind, category, territory, text, collective, applicant_type, channel, filed_on)| {
            RoutingFacts {
                kind,
                category: category.into(),
                territory: territory.into(),
                subject: String::new(),
                text: text.join(" "),
                collective,
                applicant_type,
                channel,
                filed_on,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn routing_always_lands_on_an_active_agency(ruleset in ruleset(), facts in facts()) {
        let catalog = catalog();
        let decision = Router::build(&ruleset, &catalog).route(&facts);
        let agency = catalog.agency(&decision.agency);
        prop_assert!(agency.is_some_and(|a| a.active), "{decision:?}");
    }

    #[test]
    fn the_same_appeal_gets_the_same_decision(ruleset in ruleset(), facts in facts()) {
        let catalog = catalog();
        let first = Router::build(&ruleset, &catalog).route(&facts);
        let again = Router::build(&ruleset, &catalog).route(&facts.clone());
        prop_assert_eq!(first, again);
    }

    #[test]
    fn the_index_agrees_with_rule_by_rule_evaluation(ruleset in ruleset(), facts in facts()) {
        let router = Router::build(&ruleset, &catalog());
        let indexed = router.route(&facts);
        prop_assert_eq!(&indexed, &router.route_naive(&facts));
        prop_assert_eq!(&indexed, &router.explain(&facts).0);
        prop_assert_eq!(indexed, router.explain_indexed(&facts).0);
    }

    /// The trace a filing keeps accounts for every rule the full trace does: each rule it
    /// tried with the same outcome, in the same order, and the rest as ruled out.
    #[test]
    fn the_indexed_trace_is_the_full_trace_without_the_rules_the_index_ruled_out(
        ruleset in ruleset(),
        facts in facts(),
    ) {
        let router = Router::build(&ruleset, &catalog());
        let (_, full) = router.explain(&facts);
        let (_, indexed) = router.explain_indexed(&facts);
        prop_assert_eq!(full.ruled_out, 0);
        prop_assert_eq!(indexed.fallback, full.fallback);
        prop_assert_eq!(indexed.steps.len() + indexed.ruled_out, full.steps.len());
        let mut rest = full.steps.iter();
        for step in &indexed.steps {
            prop_assert!(rest.any(|s| s == step), "{step:?} is not in the full trace, in order");
        }
        if !full.fallback {
            prop_assert_eq!(indexed.steps.last(), full.steps.last(), "the deciding rule");
        }
        // The index leaves out only rules whose conditions cannot all hold.
        for step in full.steps.iter().filter(|s| !indexed.steps.contains(s)) {
            prop_assert!(matches!(step.outcome, Outcome::Failed { .. }), "{step:?} was ruled out");
        }
    }

    #[test]
    fn a_valid_ruleset_compiles_and_routes_like_its_unchecked_build(ruleset in ruleset(), facts in facts()) {
        let catalog = catalog();
        if let Ok(router) = Router::compile(&ruleset, &catalog) {
            prop_assert_eq!(router.route(&facts), Router::build(&ruleset, &catalog).route(&facts));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The shadowing check may miss cases, but what it reports must really never decide.
    #[test]
    fn a_rule_reported_unreachable_never_decides(ruleset in ruleset(), facts in facts()) {
        let catalog = catalog();
        let unreachable: Vec<String> = validate(&ruleset, &catalog)
            .errors
            .into_iter()
            .filter(|e| matches!(e.problem, Problem::Unreachable { .. }))
            .filter_map(|e| e.location.rule_id)
            .collect();
        let decided = Router::build(&ruleset, &catalog).route(&facts).rule_id;
        prop_assert!(decided.is_none_or(|id| !unreachable.contains(&id)));
    }
}

proptest! {
    /// The word-start index finds exactly what a scan of the folded text finds.
    #[test]
    fn word_starts_agree_with_a_scan(
        text in proptest::collection::vec(select(&["об", "обу", "қубур", "ҚУБУРҲО", "а", "б", "об-ро", "  ", "ҳуқуқ."][..]), 0..12),
        keyword in select(&["об", "обу", "об ро", "убур", "қубурҳо", "ҳуқуқ", "а б"][..]),
    ) {
        let folded = fold(&text.join(" "));
        let keyword = fold(keyword);
        let scanned = folded
            .match_indices(keyword.as_str())
            .any(|(at, _)| at == 0 || folded.as_bytes()[at - 1] == b' ');
        prop_assert_eq!(super::super::folding::WordStarts::new(folded.clone()).contains(&keyword), scanned);
    }
}

proptest! {
    /// The fast paths of folding give what Unicode's full lower-casing gives.
    #[test]
    fn folding_fast_paths_agree_with_unicode_lower_case(text in "[\\u{0400}-\\u{04FF}A-Za-z0-9 .,\\-]{0,40}") {
        use unicode_normalization::UnicodeNormalization;
        let lowered: String = text.nfkc().flat_map(char::to_lowercase).collect();
        let reference: Vec<String> = lowered
            .split(|c: char| !c.is_alphanumeric())
            .filter(|word| !word.is_empty())
            .map(|word| {
                word.chars()
                    .map(|c| match c {
                        'ғ' => 'г',
                        'ӣ' => 'и',
                        'қ' => 'к',
                        'ӯ' => 'у',
                        'ҳ' => 'х',
                        'ҷ' => 'ч',
                        'ё' => 'е',
                        other => other,
                    })
                    .collect::<String>()
            })
            .collect();
        prop_assert_eq!(fold(&text), reference.join(" "));
    }
}
