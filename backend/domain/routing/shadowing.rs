//! Finding rules that can never match because a rule evaluated earlier always wins first.
//!
//! The check is sound but not complete: what it reports can really never decide (a property
//! test holds it to that), but it only compares plain conditions. The earlier rule must route
//! to a fixed, active agency (an `agency_of_kind` rule can fall through) and have no
//! `all`/`any`/`not`; each of its fields must then be implied by the same field of the later
//! rule, which covers exact duplicates and narrower copies (a child category, a district of
//! the region, a subset of kinds, a longer keyword, a shorter date window, ...).

use super::catalog::{Catalog, Hierarchy};
use super::folding::fold;
use super::rules::{Condition, Rule, Ruleset, Target};

/// Each unreachable rule with the earlier rule that shadows it, in evaluation order.
pub(super) fn shadowed_rules<'r>(ruleset: &'r Ruleset, catalog: &Catalog) -> Vec<(&'r Rule, &'r Rule)> {
    let mut order: Vec<Plain<'r>> = ruleset.rules.iter().map(Plain::new).collect();
    order.sort_by_key(|plain| std::cmp::Reverse(plain.rule.priority));
    let mut shadows: Vec<&Plain<'r>> = Vec::new();
    let mut found = Vec::new();
    for later in &order {
        if let Some(first) = shadows.iter().find(|first| first.covers(later, catalog)) {
            found.push((later.rule, first.rule));
        }
        let routes_surely = match &later.rule.then.target {
            Target::Agency(code) => catalog.agency(code).is_some_and(|agency| agency.active),
            Target::AgencyOfKind(_) => false,
        };
        let plain = {
            let when = &later.rule.when;
            when.all.is_none() && when.any.is_none() && when.not.is_none()
        };
        if routes_surely && plain {
            shadows.push(later);
        }
    }
    found
}

/// A rule with its keywords folded once.
struct Plain<'r> {
    rule: &'r Rule,
    any: Vec<String>,
    all: Vec<String>,
    none: Vec<String>,
}

impl<'r> Plain<'r> {
    fn new(rule: &'r Rule) -> Self {
        let keywords = rule.when.keywords.as_ref();
        let folded = |list: Option<&Vec<String>>| list.into_iter().flatten().map(|k| fold(k)).collect();
        Self {
            rule,
            any: folded(keywords.map(|k| &k.any)),
            all: folded(keywords.map(|k| &k.all)),
            none: folded(keywords.map(|k| &k.none)),
        }
    }

    /// Whether this (plain) rule's condition holds for every appeal `narrow`'s holds for.
    /// Cheap field comparisons come first.
    fn covers(&self, narrow: &Plain<'_>, catalog: &Catalog) -> bool {
        let (wide, narrow_when) = (&self.rule.when, &narrow.rule.when);
        subset(&wide.kind, &narrow_when.kind)
            && (wide.collective.is_none() || wide.collective == narrow_when.collective)
            && subset(&wide.applicant_type, &narrow_when.applicant_type)
            && subset(&wide.channel, &narrow_when.channel)
            && window_within(wide, narrow_when)
            && within(&wide.category, &narrow_when.category, &catalog.categories)
            && within(&wide.territory, &narrow_when.territory, &catalog.territories)
            && self.keywords_implied(narrow)
    }

    /// A keyword occurring at a word start implies that each of its prefixes occurs there too,
    /// and a keyword being absent implies that every longer keyword is absent.
    fn keywords_implied(&self, narrow: &Plain<'_>) -> bool {
        let extends_one_of =
            |k: &String, prefixes: &[String]| prefixes.iter().any(|p| k.starts_with(p.as_str()));
        let any_ok = self.any.is_empty()
            || narrow.all.iter().any(|k| extends_one_of(k, &self.any))
            || (!narrow.any.is_empty() && narrow.any.iter().all(|k| extends_one_of(k, &self.any)));
        let all_ok = self.all.iter().all(|w| narrow.all.iter().any(|n| n.starts_with(w.as_str())));
        let none_ok = self.none.iter().all(|w| extends_one_of(w, &narrow.none));
        any_ok && all_ok && none_ok
    }
}

fn subset<T: PartialEq>(wide: &Option<Vec<T>>, narrow: &Option<Vec<T>>) -> bool {
    match (wide, narrow) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(wide), Some(narrow)) => narrow.iter().all(|n| wide.contains(n)),
    }
}

fn within(wide: &Option<Vec<String>>, narrow: &Option<Vec<String>>, tree: &Hierarchy) -> bool {
    match (wide, narrow) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(wide), Some(narrow)) => narrow.iter().all(|n| wide.iter().any(|w| tree.is_within(n, w))),
    }
}

fn window_within(wide: &Condition, narrow: &Condition) -> bool {
    let Some(wide) = wide.filed else { return true };
    let narrow = narrow.filed.unwrap_or_default();
    let bound_ok = |wide: Option<_>, narrow: Option<_>, ordered: fn(_, _) -> bool| match (wide, narrow) {
        (None, _) => true,
        (Some(w), Some(n)) => ordered(w, n),
        (Some(_), None) => false,
    };
    bound_ok(wide.from, narrow.from, |w: chrono::NaiveDate, n| w <= n)
        && bound_ok(wide.until, narrow.until, |w: chrono::NaiveDate, n| n <= w)
}
