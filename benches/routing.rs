//! Routing time per appeal with 100, 1,000 and 10,000 generated rules over the demo
//! catalog: the compiled index (`route`) next to rule-by-rule evaluation (`route_naive`).
//!
//! Generated rules look like the demo's: a category (leaf or parent), usually a territory
//! (region or district), sometimes a kind, and a keyword unique to the rule (so no rule
//! shadows another and validation passes); one in five routes by `agency_of_kind`.

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use murojiat::domain::appeal::{AppealKind, ApplicantType, Channel};
use murojiat::domain::routing::{
    Action, Catalog, Condition, Keywords, Router, RoutingFacts, Rule, Ruleset, Target, catalog_from_toml,
};

const TERRITORIES: &str = include_str!("../config/demo/territories.toml");
const AGENCIES: &str = include_str!("../config/demo/agencies.toml");
const CATEGORIES: &str = include_str!("../config/demo/categories.toml");

/// A small deterministic generator (xorshift64), so every run benchmarks the same rules.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

fn sorted(codes: impl Iterator<Item = String>) -> Vec<String> {
    let mut codes: Vec<String> = codes.collect();
    codes.sort();
    codes
}

fn keyword(n: usize) -> String {
    format!("калима{n}ю")
}

fn generate(rules: usize, catalog: &Catalog, dice: &mut Dice) -> Ruleset {
    let categories = sorted(catalog.categories.codes().map(str::to_owned));
    let territories = sorted(catalog.territories.codes().map(str::to_owned));
    let agencies = sorted(catalog.agencies().filter(|a| a.active).map(|a| a.code.clone()));
    let rules = (0..rules)
        .map(|n| {
            let by_kind = dice.chance(20);
            let when = Condition {
                category: Some(vec![dice.pick(&categories).clone()]),
                territory: (!by_kind && dice.chance(70)).then(|| vec![dice.pick(&territories).clone()]),
                kind: dice.chance(30).then(|| vec![*dice.pick(AppealKind::ALL)]),
                keywords: (!by_kind).then(|| Keywords { any: vec![keyword(n)], ..Keywords::default() }),
                ..Condition::default()
            };
            let target = if by_kind {
                Target::AgencyOfKind("district-hukumat".into())
            } else {
                Target::Agency(dice.pick(&agencies).clone())
            };
            Rule {
                id: format!("rule-{n}"),
                priority: dice.below(5) as i32,
                description: None,
                when,
                then: Action { target, policy: None, priority: None, tags: vec![] },
                line: None,
            }
        })
        .collect();
    Ruleset { fallback_agency: "president-office".into(), default_policy: "standard".into(), rules }
}

fn appeals(count: usize, rules: usize, catalog: &Catalog, dice: &mut Dice) -> Vec<RoutingFacts> {
    let categories = sorted(catalog.categories.codes().map(str::to_owned));
    let districts = sorted(
        catalog.territories.codes().filter(|code| !catalog.territories.has_children(code)).map(str::to_owned),
    );
    let filler = "Ба шумо муроҷиат мекунам, ки дар маҳаллаи мо аз моҳи гузашта инҷониб \
                  мушкилот ҳал нашудааст ва мақомоти дахлдор ҷавоб намедиҳанд.";
    (0..count)
        .map(|_| RoutingFacts {
            kind: *dice.pick(AppealKind::ALL),
            category: dice.pick(&categories).clone(),
            territory: dice.pick(&districts).clone(),
            subject: "Муроҷиат дар бораи мушкилоти маҳал".into(),
            text: format!("{filler} {} {} {filler}", keyword(dice.below(rules)), keyword(dice.below(rules))),
            collective: dice.chance(10),
            applicant_type: ApplicantType::Person,
            channel: Channel::Web,
            filed_on: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap_or_default(),
        })
        .collect()
}

fn routing(c: &mut Criterion) {
    let catalog = catalog_from_toml(TERRITORIES, AGENCIES, CATEGORIES, &["standard", "study"])
        .expect("the demo catalog parses");
    let mut group = c.benchmark_group("route");
    for rules in [100, 1_000, 10_000] {
        let mut dice = Dice(0x9E37_79B9_7F4A_7C15);
        let ruleset = generate(rules, &catalog, &mut dice);
        let router = match Router::compile(&ruleset, &catalog) {
            Ok(router) => router,
            Err(errors) => panic!("generated ruleset is invalid: {}", errors[0]),
        };
        let facts = appeals(1_024, rules, &catalog, &mut dice);
        let mut next = 0;
        group.bench_with_input(BenchmarkId::new("compiled", rules), &rules, |b, _| {
            b.iter(|| {
                next = (next + 1) % facts.len();
                black_box(router.route(black_box(&facts[next])))
            })
        });
        group.bench_with_input(BenchmarkId::new("naive", rules), &rules, |b, _| {
            b.iter(|| {
                next = (next + 1) % facts.len();
                black_box(router.route_naive(black_box(&facts[next])))
            })
        });
    }
    group.finish();

    let mut dice = Dice(7);
    let facts = appeals(1, 100, &catalog, &mut dice).remove(0);
    c.bench_function("fold/appeal-text", |b| {
        b.iter(|| murojiat::domain::routing::fold(black_box(&facts.text)))
    });
    let ruleset = Ruleset {
        fallback_agency: "president-office".into(),
        default_policy: "standard".into(),
        rules: vec![],
    };
    let empty = Router::compile(&ruleset, &catalog).expect("an empty ruleset is valid");
    c.bench_function("route/compiled/0", |b| b.iter(|| black_box(empty.route(black_box(&facts)))));
}

criterion_group!(benches, routing);
criterion_main!(benches);
