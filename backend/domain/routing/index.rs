//! The index that narrows routing to the rules that can match an appeal's kind, category and
//! territory. For every known code it holds the set of rules whose conditions admit that
//! code (through the hierarchy) or do not constrain it at all, so a lookup is three hash
//! probes and a word-wise `and`.

use std::collections::HashMap;

use crate::domain::appeal::AppealKind;

use super::catalog::Hierarchy;
use super::facts::RoutingFacts;
use super::rule_bits::RuleBits;
use super::rules::Condition;

/// Candidate sets by kind, category and territory, over rules in evaluation order.
#[derive(Debug, Clone)]
pub(super) struct RuleIndex {
    by_kind: Vec<RuleBits>,
    by_category: Dimension,
    by_territory: Dimension,
}

/// Candidate sets for one hierarchical dimension.
#[derive(Debug, Clone)]
struct Dimension {
    by_code: HashMap<String, RuleBits>,
    /// Rules that do not constrain this dimension: the candidates for an unknown code.
    unconstrained: RuleBits,
}

impl RuleIndex {
    /// Indexes `conditions`, given in evaluation order.
    pub fn build(conditions: &[&Condition], categories: &Hierarchy, territories: &Hierarchy) -> Self {
        let len = conditions.len();
        let by_kind = AppealKind::ALL
            .iter()
            .map(|kind| {
                let mut bits = RuleBits::empty(len);
                for (position, condition) in conditions.iter().enumerate() {
                    match necessary(condition, &|c| c.kind.as_ref()) {
                        Some(kinds) if !kinds.contains(kind) => {}
                        _ => bits.insert(position),
                    }
                }
                bits
            })
            .collect();
        Self {
            by_kind,
            by_category: Dimension::build(conditions, categories, &|c| c.category.as_ref()),
            by_territory: Dimension::build(conditions, territories, &|c| c.territory.as_ref()),
        }
    }

    /// Positions of the rules that may match `facts`, ascending. Every rule that matches is
    /// among them; the caller still evaluates each.
    pub fn candidates<'a>(&'a self, facts: &RoutingFacts) -> impl Iterator<Item = usize> + 'a {
        let kind = AppealKind::ALL.iter().position(|k| *k == facts.kind).unwrap_or_default();
        RuleBits::intersection(
            &self.by_kind[kind],
            self.by_category.lookup(&facts.category),
            self.by_territory.lookup(&facts.territory),
        )
    }
}

impl Dimension {
    fn build(
        conditions: &[&Condition],
        tree: &Hierarchy,
        field: &dyn Fn(&Condition) -> Option<&Vec<String>>,
    ) -> Self {
        let len = conditions.len();
        let mut unconstrained = RuleBits::empty(len);
        let mut naming: HashMap<String, RuleBits> = HashMap::new();
        for (position, condition) in conditions.iter().enumerate() {
            match necessary(condition, field) {
                None => unconstrained.insert(position),
                Some(codes) => {
                    for code in codes {
                        naming.entry(code).or_insert_with(|| RuleBits::empty(len)).insert(position);
                    }
                }
            }
        }
        let codes: Vec<String> = tree.codes().map(str::to_owned).chain(naming.keys().cloned()).collect();
        let by_code = codes
            .into_iter()
            .map(|code| {
                let mut bits = unconstrained.clone();
                for ancestor in tree.ancestors(&code) {
                    if let Some(named) = naming.get(ancestor) {
                        bits.union_with(named);
                    }
                }
                (code, bits)
            })
            .collect();
        Self { by_code, unconstrained }
    }

    fn lookup(&self, code: &str) -> &RuleBits {
        self.by_code.get(code).unwrap_or(&self.unconstrained)
    }
}

/// Values of one field that any appeal matching `condition` must have, when the condition
/// implies such a list: the field itself, else the first `all` member that implies one, else
/// the union over `any` members when every member implies one. `None` means "any value".
fn necessary<T: Clone>(
    condition: &Condition,
    field: &dyn Fn(&Condition) -> Option<&Vec<T>>,
) -> Option<Vec<T>> {
    if let Some(values) = field(condition) {
        return Some(values.clone());
    }
    if let Some(values) = condition.all.iter().flatten().find_map(|child| necessary(child, field)) {
        return Some(values);
    }
    match &condition.any {
        Some(any) if !any.is_empty() => {
            let mut union = Vec::new();
            for child in any {
                union.extend(necessary(child, field)?);
            }
            Some(union)
        }
        _ => None,
    }
}
