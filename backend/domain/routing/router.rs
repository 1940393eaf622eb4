//! A compiled ruleset: rules in evaluation order, their index, and the agencies they resolve
//! to. Built once per ruleset version and shared by every routing call.

use std::collections::HashMap;

use crate::domain::appeal::Priority;

use super::catalog::{Catalog, Hierarchy};
use super::condition::{Appeal, Test};
use super::decision::{Decision, Outcome, Step, Trace};
use super::facts::RoutingFacts;
use super::index::RuleIndex;
use super::rules::{Ruleset, Target};
use super::validate::{ValidationError, validate};

/// A validated ruleset compiled against a catalog. Routing with it is total (every appeal
/// gets a decision), deterministic, and does not change it, so it can be shared between
/// threads behind an `Arc`.
#[derive(Debug, Clone)]
pub struct Router {
    /// Rules sorted by priority (highest first), ties in file order.
    rules: Vec<CompiledRule>,
    index: RuleIndex,
    categories: Hierarchy,
    territories: Hierarchy,
    /// For each catalog territory, by kind position in `kinds`: the covering agency.
    coverage: HashMap<String, Vec<Option<String>>>,
    kinds: Vec<String>,
    fallback: String,
    default_policy: String,
}

#[derive(Debug, Clone)]
struct CompiledRule {
    id: String,
    priority: i32,
    line: Option<usize>,
    test: Test,
    target: CompiledTarget,
    policy: Option<String>,
    priority_given: Option<Priority>,
    tags: Vec<String>,
}

#[derive(Debug, Clone)]
enum CompiledTarget {
    /// An active agency of the catalog.
    Agency(String),
    /// Position in [`Router::kinds`].
    OfKind(usize),
    /// An agency unknown to the catalog or inactive; such a rule never applies. Only
    /// rulesets that skipped validation can contain one.
    Unavailable,
}

/// What trying one rule on one appeal gave.
enum Attempt<'r> {
    Routed(&'r str),
    Failed(super::condition::Miss<'r>),
    NoAgency(&'r str),
}

impl Router {
    /// Validates `ruleset` against `catalog` and compiles it. Fails with every validation
    /// error when there is any; warnings do not stop compilation (see
    /// [`super::validate()`] to see them).
    pub fn compile(ruleset: &Ruleset, catalog: &Catalog) -> Result<Self, Vec<ValidationError>> {
        let validation = validate(ruleset, catalog);
        if validation.errors.is_empty() { Ok(Self::build(ruleset, catalog)) } else { Err(validation.errors) }
    }

    /// Compiles without validating. Rules naming unknown or inactive agencies never apply,
    /// but the fallback is used as given, so the caller must know it to be active.
    pub(super) fn build(ruleset: &Ruleset, catalog: &Catalog) -> Self {
        let mut order: Vec<usize> = (0..ruleset.rules.len()).collect();
        order.sort_by_key(|&at| std::cmp::Reverse(ruleset.rules[at].priority));

        let mut kinds: Vec<String> = Vec::new();
        let rules: Vec<CompiledRule> = order
            .iter()
            .map(|&at| {
                let rule = &ruleset.rules[at];
                let target = match &rule.then.target {
                    Target::Agency(code) => match catalog.agency(code) {
                        Some(agency) if agency.active => CompiledTarget::Agency(code.clone()),
                        _ => CompiledTarget::Unavailable,
                    },
                    Target::AgencyOfKind(kind) => {
                        let position = kinds.iter().position(|k| k == kind).unwrap_or_else(|| {
                            kinds.push(kind.clone());
                            kinds.len() - 1
                        });
                        CompiledTarget::OfKind(position)
                    }
                };
                CompiledRule {
                    id: rule.id.clone(),
                    priority: rule.priority,
                    line: rule.line,
                    test: Test::compile(&rule.when),
                    target,
                    policy: rule.then.policy.clone(),
                    priority_given: rule.then.priority,
                    tags: rule.then.tags.clone(),
                }
            })
            .collect();

        let conditions: Vec<_> = order.iter().map(|&at| &ruleset.rules[at].when).collect();
        let index = RuleIndex::build(&conditions, &catalog.categories, &catalog.territories);
        let coverage = catalog
            .territories
            .codes()
            .map(|territory| {
                let agencies = kinds
                    .iter()
                    .map(|kind| catalog.covering_agency(kind, territory).map(|a| a.code.clone()))
                    .collect();
                (territory.to_owned(), agencies)
            })
            .collect();

        Self {
            rules,
            index,
            categories: catalog.categories.clone(),
            territories: catalog.territories.clone(),
            coverage,
            kinds,
            fallback: ruleset.fallback_agency.clone(),
            default_policy: ruleset.default_policy.clone(),
        }
    }

    /// Routes an appeal using the index: the first rule in evaluation order whose conditions
    /// hold and whose agency resolves decides; otherwise the fallback does.
    pub fn route(&self, facts: &RoutingFacts) -> Decision {
        let appeal = self.appeal(facts);
        for position in self.index.candidates(facts) {
            let rule = &self.rules[position];
            if let Attempt::Routed(agency) = self.attempt(rule, &appeal) {
                return self.decision(Some(rule), agency);
            }
        }
        self.decision(None, &self.fallback)
    }

    /// Routes an appeal by trying every rule in evaluation order, without the index. Gives
    /// the same decision as [`Router::route`]; kept as the reference for tests and benchmarks.
    pub fn route_naive(&self, facts: &RoutingFacts) -> Decision {
        let appeal = self.appeal(facts);
        for rule in &self.rules {
            if let Attempt::Routed(agency) = self.attempt(rule, &appeal) {
                return self.decision(Some(rule), agency);
            }
        }
        self.decision(None, &self.fallback)
    }

    /// Routes an appeal as [`Router::route_naive`] does and records every rule tried, with
    /// the condition that failed, up to the rule that decided: for simulating a ruleset,
    /// where every rule's fate is the point.
    pub fn explain(&self, facts: &RoutingFacts) -> (Decision, Trace) {
        self.trace(facts, 0..self.rules.len())
    }

    /// Routes an appeal as [`Router::route`] does, through the index, and records each rule
    /// it tried, with the condition that failed, up to the rule that decided, and how many
    /// rules before that one the index ruled out untried (their kind, category or territory
    /// cannot hold for this appeal): what a filing keeps, a few steps rather than one per
    /// rule of the ruleset. Same decision as [`Router::explain`].
    pub fn explain_indexed(&self, facts: &RoutingFacts) -> (Decision, Trace) {
        self.trace(facts, self.index.candidates(facts))
    }

    /// Tries the rules at `positions` (ascending) in turn, recording each.
    fn trace(&self, facts: &RoutingFacts, positions: impl Iterator<Item = usize>) -> (Decision, Trace) {
        let appeal = self.appeal(facts);
        let mut steps = Vec::new();
        for position in positions {
            let rule = &self.rules[position];
            let outcome = match self.attempt(rule, &appeal) {
                Attempt::Routed(agency) => {
                    steps.push(step(rule, Outcome::Matched { agency: agency.to_owned() }));
                    let ruled_out = position + 1 - steps.len();
                    let trace = Trace { steps, fallback: false, ruled_out };
                    return (self.decision(Some(rule), agency), trace);
                }
                Attempt::Failed(miss) => {
                    Outcome::Failed { condition: miss.condition().to_owned(), reason: miss.reason(facts) }
                }
                Attempt::NoAgency(kind) => {
                    Outcome::NoAgency { kind: kind.to_owned(), territory: facts.territory.clone() }
                }
            };
            steps.push(step(rule, outcome));
        }
        let ruled_out = self.rules.len() - steps.len();
        (self.decision(None, &self.fallback), Trace { steps, fallback: true, ruled_out })
    }

    /// The number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether the ruleset has no rules (every appeal goes to the fallback).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    fn appeal<'a>(&'a self, facts: &'a RoutingFacts) -> Appeal<'a> {
        Appeal::new(facts, &self.categories, &self.territories)
    }

    fn attempt<'r>(&'r self, rule: &'r CompiledRule, appeal: &Appeal<'_>) -> Attempt<'r> {
        if let Err(miss) = rule.test.eval(appeal) {
            return Attempt::Failed(miss);
        }
        match &rule.target {
            CompiledTarget::Agency(code) => Attempt::Routed(code),
            CompiledTarget::OfKind(kind) => self
                .coverage
                .get(&appeal.facts.territory)
                .and_then(|by_kind| by_kind[*kind].as_deref())
                .map_or(Attempt::NoAgency(&self.kinds[*kind]), Attempt::Routed),
            CompiledTarget::Unavailable => Attempt::NoAgency("(unavailable agency)"),
        }
    }

    fn decision(&self, rule: Option<&CompiledRule>, agency: &str) -> Decision {
        Decision {
            agency: agency.to_owned(),
            policy: rule.and_then(|rule| rule.policy.clone()).unwrap_or_else(|| self.default_policy.clone()),
            priority: rule.and_then(|rule| rule.priority_given).unwrap_or(Priority::Normal),
            tags: rule.map(|rule| rule.tags.clone()).unwrap_or_default(),
            rule_id: rule.map(|rule| rule.id.clone()),
        }
    }
}

fn step(rule: &CompiledRule, outcome: Outcome) -> Step {
    Step { rule_id: rule.id.clone(), priority: rule.priority, line: rule.line, outcome }
}
