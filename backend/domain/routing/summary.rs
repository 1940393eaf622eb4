//! The summary `murojiat rules check` prints: what a ruleset does, at a glance.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use super::catalog::Catalog;
use super::rules::{Ruleset, Target};
use super::validate::{Validation, validate};

/// A ruleset's size, the agencies it can route to and its validation findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RulesetSummary {
    pub rules: usize,
    pub fallback_agency: String,
    /// Every agency some appeal can reach: fixed targets, the active agencies of each
    /// `agency_of_kind` that cover some territory, and the fallback. Sorted by code.
    pub agencies_reached: Vec<String>,
    pub validation: Validation,
}

/// Validates `ruleset` against `catalog` and summarises it.
pub fn summarize(ruleset: &Ruleset, catalog: &Catalog) -> RulesetSummary {
    let mut reached: BTreeSet<String> = BTreeSet::new();
    reached.insert(ruleset.fallback_agency.clone());
    for rule in &ruleset.rules {
        match &rule.then.target {
            Target::Agency(code) => {
                reached.insert(code.clone());
            }
            Target::AgencyOfKind(kind) => reached.extend(
                catalog
                    .agencies()
                    .filter(|a| a.active && &a.kind == kind && !a.covers.is_empty())
                    .map(|a| a.code.clone()),
            ),
        }
    }
    RulesetSummary {
        rules: ruleset.rules.len(),
        fallback_agency: ruleset.fallback_agency.clone(),
        agencies_reached: reached.into_iter().collect(),
        validation: validate(ruleset, catalog),
    }
}

impl fmt::Display for RulesetSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "rules: {}", self.rules)?;
        writeln!(f, "fallback agency: {}", self.fallback_agency)?;
        writeln!(
            f,
            "agencies reached ({}): {}",
            self.agencies_reached.len(),
            self.agencies_reached.join(", ")
        )?;
        writeln!(f, "errors: {}", self.validation.errors.len())?;
        for error in &self.validation.errors {
            writeln!(f, "  error: {error}")?;
        }
        writeln!(f, "warnings: {}", self.validation.warnings.len())?;
        for warning in &self.validation.warnings {
            writeln!(f, "  warning: {warning}")?;
        }
        Ok(())
    }
}
