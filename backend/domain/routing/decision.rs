//! The result of routing one appeal, and the trace that explains it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::appeal::Priority;

/// Where an appeal goes and how it is handled there. Routing always produces one: when no
/// rule applies, the ruleset's fallback agency receives the appeal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Code of an active agency of the catalog the ruleset was compiled against.
    pub agency: String,
    /// The deadline policy name.
    pub policy: String,
    pub priority: Priority,
    pub tags: Vec<String>,
    /// The rule that decided; `None` when the fallback did.
    pub rule_id: Option<String>,
}

/// Why an appeal was routed as it was: each rule tried, in evaluation order, up to and
/// including the one that decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    pub steps: Vec<Step>,
    /// True when no rule applied and the fallback agency received the appeal.
    pub fallback: bool,
    /// Rules before the deciding one (all of them, for the fallback) that were not tried
    /// because the rule index ruled them out: their kind, category or territory condition
    /// cannot hold for this appeal. Zero when every rule was tried.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ruled_out: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One rule tried during routing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub rule_id: String,
    pub priority: i32,
    /// The rule's line in its TOML source, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// What happened when a rule was tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Every condition held and the rule routed the appeal to `agency`.
    Matched { agency: String },
    /// `condition` (as spelled in the rules language, e.g. `keywords.any`) did not hold.
    Failed { condition: String, reason: String },
    /// The conditions held but the rule's `agency_of_kind` has no active agency covering
    /// the appeal's territory, so routing went on.
    NoAgency { kind: String, territory: String },
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.steps {
            write!(f, "rule {} (priority {}", step.rule_id, step.priority)?;
            if let Some(line) = step.line {
                write!(f, ", line {line}")?;
            }
            write!(f, "): ")?;
            match &step.outcome {
                Outcome::Matched { agency } => writeln!(f, "matched, routed to {agency}")?,
                Outcome::Failed { condition, reason } => writeln!(f, "not matched, {condition}: {reason}")?,
                Outcome::NoAgency { kind, territory } => {
                    writeln!(f, "matched, but no active {kind} covers {territory}; going on")?
                }
            }
        }
        if self.ruled_out > 0 {
            writeln!(f, "{} other rules ruled out by kind, category or territory", self.ruled_out)?;
        }
        if self.fallback {
            writeln!(f, "no rule applied: the fallback agency receives the appeal")?;
        }
        Ok(())
    }
}
