//! The routing engine's specification, as tests. Property tests are in `proptests`.

use chrono::NaiveDate;

use super::*;
use crate::domain::appeal::{AppealKind, ApplicantType, Channel, Priority};

mod proptests;

// ------------------------------------------------------------------ fixtures

/// Dushanbe (Sino, Firdavsi) and Sughd (Khujand, Isfara); a few categories; agencies that
/// exercise coverage: a city-wide and a district education department, an inactive one.
pub(super) fn catalog() -> Catalog {
    let mut catalog = Catalog::new();
    for (code, parent) in [
        ("tj-dushanbe", ""),
        ("tj-dushanbe-sino", "tj-dushanbe"),
        ("tj-dushanbe-firdavsi", "tj-dushanbe"),
        ("tj-sughd", ""),
        ("tj-sughd-khujand", "tj-sughd"),
        ("tj-sughd-isfara", "tj-sughd"),
    ] {
        catalog.add_territory(code, Some(parent));
    }
    for (code, parent) in [
        ("utilities", ""),
        ("water-supply", "utilities"),
        ("heating", "utilities"),
        ("education", ""),
        ("schools", "education"),
        ("corruption", ""),
        ("other", ""),
    ] {
        catalog.add_category(code, Some(parent));
    }
    let agency = |code: &str, kind: &str, active: bool, covers: &[&str]| Agency {
        code: code.to_owned(),
        kind: kind.to_owned(),
        active,
        covers: covers.iter().map(|c| (*c).to_owned()).collect(),
    };
    for a in [
        agency("president-office", "oversight", true, &[]),
        agency("vodokanal", "utility", true, &["tj-dushanbe"]),
        agency("mvd", "ministry", true, &[]),
        agency("anticorruption", "agency", true, &[]),
        agency("maorif", "ministry", true, &[]),
        agency("edu-dushanbe", "education-department", true, &["tj-dushanbe"]),
        agency("edu-sino", "education-department", true, &["tj-dushanbe-sino"]),
        agency("edu-sughd", "education-department", false, &["tj-sughd"]),
        agency("hukumat-sino", "district-hukumat", true, &["tj-dushanbe-sino"]),
        agency("closed", "ministry", false, &[]),
        agency("no-area", "land-office", true, &[]),
    ] {
        catalog.add_agency(a);
    }
    catalog.add_policy("standard");
    catalog.add_policy("study");
    catalog
}

/// A ruleset with fallback `president-office` and the given rules (TOML).
fn ruleset(rules: &str) -> Ruleset {
    let source = format!("fallback_agency = \"president-office\"\n{rules}");
    Ruleset::from_toml(&source).unwrap_or_else(|e| panic!("{e}"))
}

fn router(rules: &str) -> Router {
    Router::compile(&ruleset(rules), &catalog()).unwrap_or_else(|errors| {
        panic!("{}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
    })
}

fn errors(rules: &str) -> Vec<String> {
    validate(&ruleset(rules), &catalog()).errors.iter().map(ToString::to_string).collect()
}

fn warnings(rules: &str) -> Vec<String> {
    validate(&ruleset(rules), &catalog()).warnings.iter().map(ToString::to_string).collect()
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// A plain complaint about "other" from a person in Sino, filed on the web on 2026-06-01.
fn appeal() -> RoutingFacts {
    RoutingFacts {
        kind: AppealKind::Complaint,
        category: "other".into(),
        territory: "tj-dushanbe-sino".into(),
        subject: "Мурочиат".into(),
        text: String::new(),
        collective: false,
        applicant_type: ApplicantType::Person,
        channel: Channel::Web,
        filed_on: day("2026-06-01"),
    }
}

/// A one-rule ruleset sending appeals that satisfy `when` to mvd.
fn only(when: &str) -> Router {
    router(&format!("[[rule]]\nid = \"r\"\nwhen = {when}\nthen = {{ agency = \"mvd\" }}\n"))
}

fn agency(router: &Router, facts: &RoutingFacts) -> String {
    let decision = router.route(facts);
    assert_eq!(decision, router.route_naive(facts), "index and naive routing disagree");
    decision.agency
}

fn matches(when: &str, facts: &RoutingFacts) -> bool {
    agency(&only(when), facts) == "mvd"
}

// ------------------------------------------------------------------ conditions

#[test]
fn kind_matches_one_or_a_list() {
    assert!(matches(r#"{ kind = "complaint" }"#, &appeal()));
    assert!(matches(r#"{ kind = ["proposal", "complaint"] }"#, &appeal()));
    assert!(!matches(r#"{ kind = "proposal" }"#, &appeal()));
}

#[test]
fn a_rule_on_a_parent_category_matches_its_children() {
    let water = RoutingFacts { category: "water-supply".into(), ..appeal() };
    assert!(matches(r#"{ category = "utilities" }"#, &water));
    assert!(matches(r#"{ category = "water-supply" }"#, &water));
    assert!(!matches(r#"{ category = "heating" }"#, &water));
    let utilities = RoutingFacts { category: "utilities".into(), ..appeal() };
    assert!(!matches(r#"{ category = "water-supply" }"#, &utilities), "a child does not match its parent");
}

#[test]
fn a_rule_on_a_region_matches_its_districts() {
    assert!(matches(r#"{ territory = "tj-dushanbe" }"#, &appeal()));
    assert!(matches(r#"{ territory = ["tj-sughd", "tj-dushanbe-sino"] }"#, &appeal()));
    assert!(!matches(r#"{ territory = ["tj-sughd", "tj-dushanbe-firdavsi"] }"#, &appeal()));
}

#[test]
fn keywords_any_all_none() {
    let facts = RoutingFacts {
        subject: "Оби нӯшокӣ".into(),
        text: "Дар маҳалла об нест, қубур шикастааст.".into(),
        ..appeal()
    };
    assert!(matches(r#"{ keywords = { any = ["барқ", "қубур"] } }"#, &facts));
    assert!(!matches(r#"{ keywords = { any = ["барқ", "газ"] } }"#, &facts));
    assert!(matches(r#"{ keywords = { all = ["об", "қубур"] } }"#, &facts));
    assert!(!matches(r#"{ keywords = { all = ["об", "газ"] } }"#, &facts));
    assert!(matches(r#"{ keywords = { none = ["газ"] } }"#, &facts));
    assert!(!matches(r#"{ keywords = { none = ["нӯшокӣ"] } }"#, &facts), "the subject is searched too");
}

#[test]
fn keywords_match_at_the_start_of_a_word() {
    let facts = RoutingFacts {
        text: "Директор школы требовал взятку у родителей".into(), ..appeal()
    };
    assert!(matches(r#"{ keywords = { any = ["взятк"] } }"#, &facts), "a stem matches its word forms");
    assert!(matches(r#"{ keywords = { any = ["требовал взятк"] } }"#, &facts), "phrases match");
    assert!(!matches(r#"{ keywords = { any = ["ятку"] } }"#, &facts), "not inside a word");
}

#[test]
fn tajik_letters_fold_across_case_and_spelling() {
    let facts = RoutingFacts { text: "Ҳуқуқҳои ман поймол шуданд".into(), ..appeal() };
    assert!(matches(r#"{ keywords = { any = ["ҲУҚУҚ"] } }"#, &facts), "upper case Tajik letters");
    assert!(matches(r#"{ keywords = { any = ["хукук"] } }"#, &facts), "Russian keyboard substitutes");
    let typed_without_tajik_keys = RoutingFacts { text: "хукуки ман".into(), ..appeal() };
    assert!(matches(r#"{ keywords = { any = ["ҳуқуқ"] } }"#, &typed_without_tajik_keys));
    // "ӣ" typed as "и" + combining macron (U+0304) is the same letter after NFC/NFKC.
    let decomposed = RoutingFacts { text: "Ободони\u{304} маҳал".into(), ..appeal() };
    assert!(matches(r#"{ keywords = { all = ["ОБОДОНӢ"] } }"#, &decomposed));
    assert_eq!(fold("  ҒӢҚӮҲҶ — Ёлка!\n"), "гикухч елка");
}

#[test]
fn collective_applicant_type_and_channel() {
    let facts = RoutingFacts {
        collective: true,
        applicant_type: ApplicantType::LegalEntity,
        channel: Channel::Oral,
        ..appeal()
    };
    assert!(matches("{ collective = true }", &facts));
    assert!(!matches("{ collective = false }", &facts));
    assert!(matches(r#"{ applicant_type = "legal_entity" }"#, &facts));
    assert!(!matches(r#"{ applicant_type = "person" }"#, &facts));
    assert!(matches(r#"{ channel = ["paper", "oral"] }"#, &facts));
    assert!(!matches(r#"{ channel = "web" }"#, &facts));
}

#[test]
fn filed_window_includes_both_bounds() {
    let window = r#"{ filed = { from = "2026-06-01", until = "2026-06-30" } }"#;
    for (date, inside) in
        [("2026-05-31", false), ("2026-06-01", true), ("2026-06-30", true), ("2026-07-01", false)]
    {
        let facts = RoutingFacts { filed_on: day(date), ..appeal() };
        assert_eq!(matches(window, &facts), inside, "{date}");
    }
    let open_ended = RoutingFacts { filed_on: day("2030-01-01"), ..appeal() };
    assert!(matches(r#"{ filed = { from = "2026-06-01" } }"#, &open_ended));
}

#[test]
fn combinators_all_any_not_nest() {
    let when = r#"{ any = [
        { all = [{ kind = "complaint" }, { not = { territory = "tj-sughd" } }] },
        { category = "corruption" },
    ] }"#;
    assert!(matches(when, &appeal()));
    assert!(!matches(when, &RoutingFacts { territory: "tj-sughd-khujand".into(), ..appeal() }));
    let corruption_in_sughd =
        RoutingFacts { territory: "tj-sughd-khujand".into(), category: "corruption".into(), ..appeal() };
    assert!(matches(when, &corruption_in_sughd));
    assert!(matches("{ all = [] }", &appeal()), "an empty `all` holds");
    assert!(matches("{}", &appeal()), "an empty condition holds");
    assert!(!matches(r#"{ not = {} }"#, &appeal()));
}

// ------------------------------------------------------------------ actions and order

#[test]
fn agency_of_kind_picks_the_most_specific_covering_agency() {
    let router = router(
        r#"
        [[rule]]
        id = "schools"
        when = { category = "schools" }
        then = { agency_of_kind = "education-department" }
        "#,
    );
    let school = |territory: &str| RoutingFacts {
        category: "schools".into(),
        territory: territory.into(),
        ..appeal()
    };
    assert_eq!(agency(&router, &school("tj-dushanbe-sino")), "edu-sino");
    assert_eq!(agency(&router, &school("tj-dushanbe-firdavsi")), "edu-dushanbe");
    assert_eq!(agency(&router, &school("tj-dushanbe")), "edu-dushanbe");
    // Sughd's department is inactive: the rule does not apply, the fallback does.
    let decision = router.route(&school("tj-sughd-khujand"));
    assert_eq!((decision.agency.as_str(), decision.rule_id), ("president-office", None));
}

#[test]
fn when_agency_of_kind_finds_no_agency_the_next_rule_decides() {
    let router = router(
        r#"
        [[rule]]
        id = "district"
        priority = 10
        then = { agency_of_kind = "district-hukumat" }
        [[rule]]
        id = "ministry"
        then = { agency = "mvd" }
        "#,
    );
    assert_eq!(agency(&router, &appeal()), "hukumat-sino");
    let firdavsi = RoutingFacts { territory: "tj-dushanbe-firdavsi".into(), ..appeal() };
    assert_eq!(router.route(&firdavsi).rule_id.as_deref(), Some("ministry"));
}

#[test]
fn highest_priority_first_then_file_order() {
    let router = router(
        r#"
        [[rule]]
        id = "low"
        priority = -5
        then = { agency = "maorif" }
        [[rule]]
        id = "first-of-equals"
        priority = 10
        when = { kind = "complaint" }
        then = { agency = "mvd" }
        [[rule]]
        id = "second-of-equals"
        priority = 10
        when = { territory = "tj-dushanbe" }
        then = { agency = "vodokanal" }
        [[rule]]
        id = "high"
        priority = 20
        when = { category = "corruption" }
        then = { agency = "anticorruption" }
        "#,
    );
    let route = |facts: RoutingFacts| router.route(&facts).rule_id.unwrap_or_default();
    assert_eq!(route(appeal()), "first-of-equals");
    assert_eq!(route(RoutingFacts { kind: AppealKind::Request, ..appeal() }), "second-of-equals");
    assert_eq!(route(RoutingFacts { category: "corruption".into(), ..appeal() }), "high");
    assert_eq!(
        route(RoutingFacts { kind: AppealKind::Request, territory: "tj-sughd".into(), ..appeal() }),
        "low"
    );
}

#[test]
fn the_fallback_takes_what_no_rule_routes_with_the_default_policy() {
    let router = only(r#"{ category = "corruption" }"#);
    let decision = router.route(&appeal());
    assert_eq!(
        decision,
        Decision {
            agency: "president-office".into(),
            policy: "standard".into(),
            priority: Priority::Normal,
            tags: vec![],
            rule_id: None,
        }
    );
}

#[test]
fn a_decision_carries_the_rule_s_policy_priority_and_tags() {
    let router = router(
        r#"
        default_policy = "study"
        [[rule]]
        id = "full"
        when = { kind = "complaint" }
        then = { agency = "mvd", policy = "standard", priority = "urgent", tags = ["police", "urgent"] }
        [[rule]]
        id = "bare"
        then = { agency = "maorif" }
        "#,
    );
    let decision = router.route(&appeal());
    assert_eq!(decision.policy, "standard");
    assert_eq!(decision.priority, Priority::Urgent);
    assert_eq!(decision.tags, ["police", "urgent"]);
    let bare = router.route(&RoutingFacts { kind: AppealKind::Proposal, ..appeal() });
    assert_eq!((bare.rule_id.as_deref(), bare.policy.as_str()), (Some("bare"), "study"));
    assert_eq!(bare.priority, Priority::Normal);
}

#[test]
fn explain_lists_each_rule_tried_and_why_it_failed() {
    let router = router(
        r#"
        [[rule]]
        id = "bribes"
        priority = 9
        when = { keywords = { any = ["пора", "ришва"] } }
        then = { agency = "anticorruption" }
        [[rule]]
        id = "schools"
        priority = 8
        when = { category = "schools" }
        then = { agency_of_kind = "education-department" }
        [[rule]]
        id = "complaints"
        when = { kind = "complaint" }
        then = { agency = "mvd" }
        "#,
    );
    let facts = RoutingFacts { category: "schools".into(), territory: "tj-sughd-isfara".into(), ..appeal() };
    let (decision, trace) = router.explain(&facts);
    assert_eq!(decision, router.route(&facts));
    assert!(!trace.fallback);
    let outcomes: Vec<_> = trace.steps.iter().map(|s| (s.rule_id.as_str(), &s.outcome)).collect();
    assert_eq!(
        outcomes,
        [
            (
                "bribes",
                &Outcome::Failed {
                    condition: "keywords.any".into(),
                    reason: "none of the keywords \"пора\", \"ришва\" occurs".into()
                }
            ),
            (
                "schools",
                &Outcome::NoAgency {
                    kind: "education-department".into(),
                    territory: "tj-sughd-isfara".into()
                }
            ),
            ("complaints", &Outcome::Matched { agency: "mvd".into() }),
        ]
    );
    assert_eq!(trace.steps[0].line, Some(4));
    let text = trace.to_string();
    assert!(text.contains("rule schools (priority 8, line 9): matched, but no active education-department covers tj-sughd-isfara"), "{text}");
    let json = serde_json::to_value(&trace).unwrap();
    assert_eq!(json["steps"][2]["outcome"], "matched");
}

#[test]
fn explain_records_the_fallback() {
    let router = only(r#"{ kind = "proposal" }"#);
    let (decision, trace) = router.explain(&appeal());
    assert!(trace.fallback && decision.rule_id.is_none());
    assert_eq!(
        trace.steps[0].outcome,
        Outcome::Failed {
            condition: "kind".into(),
            reason: "the appeal is a complaint, the rule wants proposal".into()
        }
    );
}

// ------------------------------------------------------------------ the language

#[test]
fn json_is_the_same_language() {
    let json = r#"{
        "fallback_agency": "president-office",
        "rule": [{ "id": "r", "priority": 3, "when": { "kind": "complaint", "keywords": { "any": ["об"] } },
                   "then": { "agency": "mvd", "tags": ["x"] } }]
    }"#;
    let from_json = Ruleset::from_json(json).unwrap();
    let from_toml = ruleset(
        r#"
        [[rule]]
        id = "r"
        priority = 3
        when = { kind = "complaint", keywords = { any = ["об"] } }
        then = { agency = "mvd", tags = ["x"] }
        "#,
    );
    assert_eq!(from_json.rules[0].line, None);
    assert_eq!(from_toml.rules[0].line, Some(4));
    assert_eq!(from_json.rules[0].when, from_toml.rules[0].when);
    assert_eq!(from_json.rules[0].then, from_toml.rules[0].then);
    assert_eq!(from_json.default_policy, STANDARD_POLICY);
    let round_trip = serde_json::to_string(&from_json).unwrap();
    assert_eq!(Ruleset::from_json(&round_trip).unwrap(), from_json);
}

#[test]
fn then_needs_exactly_one_way_to_name_the_agency() {
    let both = "fallback_agency = \"x\"\n[[rule]]\nid = \"r\"\nthen = { agency = \"mvd\", agency_of_kind = \"k\" }\n";
    let error = Ruleset::from_toml(both).unwrap_err().to_string();
    assert!(error.contains("exactly one of `agency` or `agency_of_kind`"), "{error}");
    let neither = "fallback_agency = \"x\"\n[[rule]]\nid = \"r\"\nthen = { tags = [\"t\"] }\n";
    assert!(Ruleset::from_toml(neither).is_err());
}

#[test]
fn unknown_fields_are_refused_with_the_line() {
    let source = "fallback_agency = \"x\"\n[[rule]]\nid = \"r\"\nwhen = { categroy = \"water\" }\nthen = { agency = \"mvd\" }\n";
    let error = Ruleset::from_toml(source).unwrap_err().to_string();
    assert!(error.contains("categroy") && error.contains("line 4"), "{error}");
}

// ------------------------------------------------------------------ validation errors

#[test]
fn unknown_agency() {
    assert_eq!(
        errors("[[rule]]\nid = \"r\"\nthen = { agency = \"mvdd\" }\n"),
        ["rule 'r' (line 3): unknown agency 'mvdd'"]
    );
}

#[test]
fn unknown_fallback_agency() {
    let ruleset = Ruleset::from_toml("fallback_agency = \"nobody\"").unwrap();
    let errors = validate(&ruleset, &catalog()).errors;
    assert_eq!(errors[0].to_string(), "ruleset: unknown agency 'nobody'");
}

#[test]
fn inactive_agency() {
    assert_eq!(
        errors("[[rule]]\nid = \"r\"\nthen = { agency = \"closed\" }\n"),
        ["rule 'r' (line 3): agency 'closed' is not active"]
    );
}

#[test]
fn unknown_category() {
    assert_eq!(
        errors(
            "[[rule]]\nid = \"r\"\nwhen = { category = [\"schools\", \"skools\"] }\nthen = { agency = \"mvd\" }\n"
        ),
        ["rule 'r' (line 3): unknown category 'skools'"]
    );
}

#[test]
fn unknown_territory_even_when_nested() {
    assert_eq!(
        errors(
            "[[rule]]\nid = \"r\"\nwhen = { not = { territory = \"tj-mars\" } }\nthen = { agency = \"mvd\" }\n"
        ),
        ["rule 'r' (line 3): unknown territory 'tj-mars'"]
    );
}

#[test]
fn unknown_policy() {
    assert_eq!(
        errors("[[rule]]\nid = \"r\"\nthen = { agency = \"mvd\", policy = \"fast\" }\n"),
        ["rule 'r' (line 3): unknown deadline policy 'fast'"]
    );
}

#[test]
fn agency_of_kind_that_covers_no_territory() {
    assert_eq!(
        errors("[[rule]]\nid = \"r\"\nthen = { agency_of_kind = \"land-office\" }\n"),
        ["rule 'r' (line 3): no active agency of kind 'land-office' covers any territory"]
    );
    assert_eq!(
        errors("[[rule]]\nid = \"r\"\nthen = { agency_of_kind = \"planet-office\" }\n"),
        ["rule 'r' (line 3): no active agency of kind 'planet-office' covers any territory"]
    );
}

#[test]
fn agency_of_kind_that_covers_none_of_the_rule_s_territories() {
    assert_eq!(
        errors(
            "[[rule]]\nid = \"r\"\nwhen = { territory = \"tj-sughd\" }\nthen = { agency_of_kind = \"education-department\" }\n"
        ),
        [
            "rule 'r' (line 3): no active agency of kind 'education-department' covers any territory this rule applies to"
        ]
    );
}

#[test]
fn duplicate_rule_ids() {
    assert_eq!(
        errors(
            "[[rule]]\nid = \"r\"\nwhen = { kind = \"request\" }\nthen = { agency = \"mvd\" }\n\
             [[rule]]\nid = \"r\"\nwhen = { kind = \"proposal\" }\nthen = { agency = \"mvd\" }\n"
        ),
        ["rule 'r' (line 7): duplicate rule id: already used on line 3"]
    );
}

#[test]
fn a_rule_shadowed_by_an_identical_earlier_rule() {
    assert_eq!(
        errors(
            "[[rule]]\nid = \"a\"\nwhen = { category = \"schools\" }\nthen = { agency = \"maorif\" }\n\
             [[rule]]\nid = \"b\"\nwhen = { category = \"schools\" }\nthen = { agency = \"mvd\" }\n"
        ),
        [
            "rule 'b' (line 7): can never match: rule 'a' on line 3 comes first and matches every appeal this rule matches"
        ]
    );
}

#[test]
fn a_rule_shadowed_by_a_wider_rule_of_higher_priority_later_in_the_file() {
    let found = errors(
        r#"
        [[rule]]
        id = "water-in-sino-about-pipes"
        when = { category = "water-supply", territory = "tj-dushanbe-sino", kind = "complaint", keywords = { all = ["қубурҳо"] } }
        then = { agency = "vodokanal" }
        [[rule]]
        id = "utilities-in-dushanbe"
        priority = 1
        when = { category = "utilities", territory = "tj-dushanbe", keywords = { any = ["ҚУБУР"] } }
        then = { agency = "vodokanal" }
        "#,
    );
    assert_eq!(
        found,
        [
            "rule 'water-in-sino-about-pipes' (line 4): can never match: rule 'utilities-in-dushanbe' on line 8 comes first and matches every appeal this rule matches"
        ]
    );
}

#[test]
fn a_narrower_or_later_wider_rule_is_reachable() {
    assert!(
        errors(
            r#"
        [[rule]]
        id = "water-in-sino"
        when = { category = "water-supply", territory = "tj-dushanbe-sino" }
        then = { agency = "vodokanal" }
        [[rule]]
        id = "utilities"
        when = { category = "utilities" }
        then = { agency = "vodokanal" }
        [[rule]]
        id = "schools-by-district"
        when = { category = "schools" }
        then = { agency_of_kind = "education-department" }
        [[rule]]
        id = "schools"
        when = { category = "schools" }
        then = { agency = "maorif" }
        "#
        )
        .is_empty(),
        "an agency_of_kind rule can fall through, so it shadows nothing"
    );
}

#[test]
fn malformed_keywords() {
    let found = errors(
        r#"
        [[rule]]
        id = "r"
        when = { keywords = { any = ["", "   ", " об", "взятк*", "—", "а"] } }
        then = { agency = "mvd" }
        "#,
    );
    assert_eq!(
        found,
        [
            r#"rule 'r' (line 4): malformed keyword "" in keywords.any: it is empty or only whitespace"#,
            r#"rule 'r' (line 4): malformed keyword "   " in keywords.any: it is empty or only whitespace"#,
            r#"rule 'r' (line 4): malformed keyword " об" in keywords.any: it has leading or trailing whitespace"#,
            r#"rule 'r' (line 4): malformed keyword "взятк*" in keywords.any: keywords are plain words, not patterns (a keyword already matches any word it starts)"#,
            r#"rule 'r' (line 4): malformed keyword "—" in keywords.any: it has no letters or digits"#,
            r#"rule 'r' (line 4): malformed keyword "а" in keywords.any: a single letter would match far too many words"#,
        ]
    );
}

#[test]
fn empty_lists_and_windows_never_hold() {
    let found = errors(
        r#"
        [[rule]]
        id = "r"
        when = { kind = [], any = [], filed = { from = "2026-02-01", until = "2026-01-01" } }
        then = { agency = "mvd" }
        "#,
    );
    assert_eq!(
        found,
        [
            "rule 'r' (line 4): `kind` is an empty list, so the condition can never hold",
            "rule 'r' (line 4): `any` is an empty list, so the condition can never hold",
            "rule 'r' (line 4): the `filed` window ends before it starts",
        ]
    );
}

#[test]
fn every_error_is_reported_at_once_and_compile_refuses() {
    let rules = r#"
        [[rule]]
        id = "a"
        when = { category = "nope" }
        then = { agency = "nobody", policy = "never" }
        [[rule]]
        id = "b"
        then = { agency = "mvd" }
        [[rule]]
        id = "c"
        then = { agency = "mvd" }
        "#;
    assert_eq!(errors(rules).len(), 4);
    let refused = Router::compile(&ruleset(rules), &catalog()).unwrap_err();
    assert_eq!(refused.len(), 4);
    assert_eq!(refused[3].location.rule_id.as_deref(), Some("c"));
    assert!(matches!(refused[3].problem, Problem::Unreachable { .. }));
}

#[test]
fn warnings_partial_coverage_overlap_and_repeats() {
    let mut catalog = catalog();
    catalog.add_agency(Agency {
        code: "edu-sino-2".into(),
        kind: "education-department".into(),
        active: true,
        covers: vec!["tj-dushanbe-sino".into()],
    });
    let ruleset = ruleset(
        r#"
        [[rule]]
        id = "schools"
        when = { category = "schools", keywords = { any = ["мактаб", "МАКТАБ"] } }
        then = { agency_of_kind = "education-department" }
        "#,
    );
    let found: Vec<String> = validate(&ruleset, &catalog).warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        [
            r#"rule 'schools' (line 4): keyword "МАКТАБ" appears twice in keywords.any"#,
            "rule 'schools' (line 4): no active agency of kind 'education-department' covers 2 territories this rule applies to (e.g. tj-sughd-isfara, tj-sughd-khujand); their appeals go on to later rules",
            "ruleset: agencies edu-sino, edu-sino-2 of kind 'education-department' all cover 'tj-dushanbe-sino'; edu-sino is chosen",
        ]
    );
    assert_eq!(warnings(""), ["ruleset: the ruleset has no rules: every appeal goes to the fallback agency"]);
}

// ------------------------------------------------------------------ replay and summary

#[test]
fn replay_reports_exactly_the_constructed_moves() {
    let old = router(
        "[[rule]]\nid = \"water\"\nwhen = { category = \"water-supply\" }\nthen = { agency = \"vodokanal\" }\n",
    );
    let new = router(
        r#"
        [[rule]]
        id = "water-bribes"
        priority = 1
        when = { category = "water-supply", keywords = { any = ["ришва"] } }
        then = { agency = "anticorruption" }
        [[rule]]
        id = "water"
        when = { category = "water-supply" }
        then = { agency = "vodokanal" }
        [[rule]]
        id = "schools"
        when = { category = "schools" }
        then = { agency = "maorif" }
        "#,
    );
    let item = |id: u32, category: &str, text: &str| {
        let facts = RoutingFacts { category: category.into(), text: text.into(), ..appeal() };
        ReplayItem { appeal_id: id, old: old.route(&facts), facts }
    };
    let items = [
        item(1, "water-supply", "об нест"),
        item(2, "water-supply", "ришва талабиданд"),
        item(3, "schools", ""),
        item(4, "water-supply", "Ришва"),
        item(5, "schools", ""),
        item(6, "schools", ""),
        item(7, "other", ""),
    ];
    let report = replay(&items, &new, 2);
    assert_eq!(report.unchanged, 2);
    assert_eq!(
        report.moves,
        [
            Move { from: "president-office".into(), to: "maorif".into(), count: 3, examples: vec![3, 5] },
            Move { from: "vodokanal".into(), to: "anticorruption".into(), count: 2, examples: vec![2, 4] },
        ]
    );
}

#[test]
fn summary_lists_rules_agencies_reached_and_findings() {
    let ruleset = ruleset(
        r#"
        [[rule]]
        id = "schools"
        when = { category = "schools" }
        then = { agency_of_kind = "education-department" }
        [[rule]]
        id = "police"
        then = { agency = "mvd" }
        "#,
    );
    let summary = summarize(&ruleset, &catalog());
    assert_eq!(summary.rules, 2);
    assert_eq!(summary.agencies_reached, ["edu-dushanbe", "edu-sino", "mvd", "president-office"]);
    let text = summary.to_string();
    assert!(text.starts_with("rules: 2\nfallback agency: president-office\nagencies reached (4): edu-dushanbe, edu-sino, mvd, president-office\nerrors: 0\nwarnings: 1\n"), "{text}");
}

// ------------------------------------------------------------------ the demo jurisdiction

const DEMO_TERRITORIES: &str = include_str!("../../../config/demo/territories.toml");
const DEMO_AGENCIES: &str = include_str!("../../../config/demo/agencies.toml");
const DEMO_CATEGORIES: &str = include_str!("../../../config/demo/categories.toml");
const DEMO_RULES: &str = include_str!("../../../config/demo/rules.toml");

fn demo() -> (Catalog, Ruleset) {
    let catalog = catalog_from_toml(DEMO_TERRITORIES, DEMO_AGENCIES, DEMO_CATEGORIES, &["standard", "study"])
        .unwrap_or_else(|e| panic!("{e}"));
    (catalog, Ruleset::from_toml(DEMO_RULES).unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn the_demo_ruleset_is_valid_against_the_demo_catalog() {
    let (catalog, ruleset) = demo();
    let validation = validate(&ruleset, &catalog);
    let errors: Vec<String> = validation.errors.iter().map(ToString::to_string).collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(ruleset.rules.len() >= 40);
    assert!(catalog.agencies().count() >= 25);
}

#[test]
fn the_demo_ruleset_routes_typical_appeals() {
    let (catalog, ruleset) = demo();
    let router = Router::compile(&ruleset, &catalog).unwrap();
    let route = |category: &str, territory: &str, text: &str| {
        let facts = RoutingFacts {
            category: category.into(),
            territory: territory.into(),
            text: text.into(),
            kind: AppealKind::Request,
            ..appeal()
        };
        agency(&router, &facts)
    };
    assert_eq!(route("water-supply", "tj-dushanbe-sino", ""), "dushanbe-vodokanal");
    assert_eq!(route("water-supply", "tj-sughd-khujand", ""), "hukumat-khujand");
    assert_eq!(route("water-supply", "tj-sughd-isfara", ""), "hukumat-sughd");
    assert_eq!(route("schools", "tj-dushanbe-sino", ""), "edu-sino");
    assert_eq!(route("schools", "tj-dushanbe-shohmansur", ""), "edu-dushanbe");
    assert_eq!(route("schools", "tj-gbao-rushon", ""), "maorif");
    assert_eq!(route("land", "tj-khatlon-kulob", ""), "goskomzem-khatlon");
    assert_eq!(route("land", "tj-gbao-khorugh", ""), "goskomzem");
    assert_eq!(route("pensions", "tj-rrp-rudaki", ""), "nafaka");
    assert_eq!(route("police-conduct", "tj-rrp-rudaki", ""), "mvd");
    assert_eq!(route("schools", "tj-rrp-rudaki", "Директор пора гирифт"), "anticorruption");
    assert_eq!(route("other", "tj-rrp-rudaki", ""), "president-office");
}

#[test]
fn folding_agrees_with_unicode_on_every_ascii_and_cyrillic_character() {
    let tajik_to_russian = |c: char| match c {
        'ғ' => 'г',
        'ӣ' => 'и',
        'қ' => 'к',
        'ӯ' => 'у',
        'ҳ' => 'х',
        'ҷ' => 'ч',
        'ё' => 'е',
        other => other,
    };
    for c in (0u32..0x80).chain(0x0400..0x0500).filter_map(char::from_u32) {
        let expected: String =
            c.to_lowercase().filter(|l| l.is_alphanumeric()).map(tajik_to_russian).collect();
        assert_eq!(fold(&c.to_string()), expected, "U+{:04X}", c as u32);
    }
}
