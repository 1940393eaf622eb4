//! The routing rules engine: decides which agency receives an appeal, under which deadline
//! policy and priority, from rules that administrators write (see `docs/rules.md`).
//!
//! The flow: parse a [`Ruleset`] (TOML or JSON), [`validate`] it against a [`Catalog`] of
//! agencies, categories, territories and policies, compile it into a [`Router`] once per
//! version, then [`Router::route`] each appeal's [`RoutingFacts`] into a [`Decision`].
//! [`Router::explain`] says why; [`replay`] shows what a new version would change;
//! [`summarize`] is what `rules check` prints. Everything here is pure: no I/O, no clock.

mod catalog;
mod catalog_files;
mod condition;
mod decision;
mod facts;
mod folding;
mod index;
mod replay;
mod router;
mod rule_bits;
mod rules;
mod shadowing;
mod summary;
mod validate;

pub use catalog::{Agency, Catalog, Hierarchy};
pub use catalog_files::{CatalogFileError, catalog_from_toml};
pub use decision::{Decision, Outcome, Step, Trace};
pub use facts::RoutingFacts;
pub use folding::fold;
pub use replay::{Move, ReplayItem, ReplayReport, replay};
pub use router::Router;
pub use rules::{
    Action, Condition, DateWindow, Keywords, ParseError, Rule, Ruleset, STANDARD_POLICY, Target,
};
pub use summary::{RulesetSummary, summarize};
pub use validate::{Concern, Location, Problem, Validation, ValidationError, ValidationWarning, validate};

#[cfg(test)]
mod tests;
