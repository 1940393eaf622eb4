//! Checks a parsed ruleset against a catalog before it may be saved or activated. Every
//! problem is reported at once, each naming its rule and, for TOML sources, the line.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use serde::Serialize;

use super::catalog::Catalog;
use super::folding::fold;
use super::rules::{Condition, Keywords, Rule, Ruleset, Target};

/// The outcome of [`validate`]: errors forbid saving the ruleset, warnings do not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Validation {
    pub errors: Vec<ValidationError>,
    pub warnings: Vec<ValidationWarning>,
}

impl Validation {
    /// Whether the ruleset may be saved and compiled.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Where in the ruleset a finding applies: a rule (with its TOML line when known) or the
/// ruleset as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// `None` for findings about the ruleset's own fields or the catalog.
    pub rule_id: Option<String>,
    pub line: Option<usize>,
}

impl Location {
    fn of(rule: &Rule) -> Self {
        Self {
            rule_id: Some(rule.id.clone()),
            line: rule.line,
        }
    }

    fn ruleset() -> Self {
        Self {
            rule_id: None,
            line: None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.rule_id, self.line) {
            (Some(id), Some(line)) => write!(f, "rule '{id}' (line {line})"),
            (Some(id), None) => write!(f, "rule '{id}'"),
            (None, _) => f.write_str("ruleset"),
        }
    }
}

/// A problem that makes the ruleset unusable. Displays as "rule 'x' (line 12): problem".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{location}: {problem}")]
pub struct ValidationError {
    #[serde(flatten)]
    pub location: Location,
    pub problem: Problem,
}

/// What is wrong, in terms an administrator can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Problem {
    #[error("unknown agency '{agency}'")]
    UnknownAgency { agency: String },
    #[error("agency '{agency}' is not active")]
    InactiveAgency { agency: String },
    #[error("unknown category '{category}'")]
    UnknownCategory { category: String },
    #[error("unknown territory '{territory}'")]
    UnknownTerritory { territory: String },
    #[error("unknown deadline policy '{policy}'")]
    UnknownPolicy { policy: String },
    #[error("no active agency of kind '{kind}' covers any territory")]
    KindCoversNothing { kind: String },
    #[error("no active agency of kind '{kind}' covers any territory this rule applies to")]
    KindCoversNoneHere { kind: String },
    #[error("the rule id is empty")]
    EmptyId,
    #[error("duplicate rule id: already used{}", line_suffix(*first_line))]
    DuplicateId { first_line: Option<usize> },
    #[error(
        "can never match: rule '{by}'{} comes first and matches every appeal this rule matches",
        line_suffix(*by_line)
    )]
    Unreachable { by: String, by_line: Option<usize> },
    #[error("malformed keyword {keyword:?} in keywords.{list}: {reason}")]
    BadKeyword {
        list: &'static str,
        keyword: String,
        reason: &'static str,
    },
    #[error("`{field}` is an empty list, so the condition can never hold")]
    EmptyList { field: &'static str },
    #[error("the `filed` window ends before it starts")]
    EmptyWindow,
}

fn line_suffix(line: Option<usize>) -> String {
    line.map(|line| format!(" on line {line}"))
        .unwrap_or_default()
}

/// A finding that does not stop the ruleset but deserves a look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{location}: {concern}")]
pub struct ValidationWarning {
    #[serde(flatten)]
    pub location: Location,
    pub concern: Concern,
}

/// What deserves a look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Concern {
    #[error(
        "no active agency of kind '{kind}' covers {count} territories this rule applies to \
         (e.g. {}); their appeals go on to later rules",
        examples.join(", ")
    )]
    PartialCoverage {
        kind: String,
        count: usize,
        examples: Vec<String>,
    },
    #[error("agencies {} of kind '{kind}' all cover '{territory}'; {} is chosen", agencies.join(", "), agencies[0])]
    OverlappingCoverage {
        kind: String,
        territory: String,
        agencies: Vec<String>,
    },
    #[error("keyword {keyword:?} appears twice in keywords.{list}")]
    RepeatedKeyword { list: &'static str, keyword: String },
    #[error("the ruleset has no rules: every appeal goes to the fallback agency")]
    NoRules,
}

/// Checks `ruleset` against `catalog`; see [`Problem`] and [`Concern`] for what is found.
/// Findings come in rule order; a rule may have several.
pub fn validate(ruleset: &Ruleset, catalog: &Catalog) -> Validation {
    let mut check = Check {
        catalog,
        validation: Validation::default(),
    };
    check.ruleset_fields(ruleset);
    let mut first_line_of: HashMap<&str, Option<usize>> = HashMap::new();
    for rule in &ruleset.rules {
        let here = Location::of(rule);
        if rule.id.trim().is_empty() {
            check.error(&here, Problem::EmptyId);
        } else if let Some(first_line) = first_line_of.get(rule.id.as_str()) {
            check.error(
                &here,
                Problem::DuplicateId {
                    first_line: *first_line,
                },
            );
        } else {
            first_line_of.insert(&rule.id, rule.line);
        }
        check.condition(&here, &rule.when);
        check.action(&here, rule);
    }
    check.unreachable_rules(ruleset);
    check.overlapping_coverage(ruleset);
    if ruleset.rules.is_empty() {
        check.warn(&Location::ruleset(), Concern::NoRules);
    }
    check.validation
}

struct Check<'c> {
    catalog: &'c Catalog,
    validation: Validation,
}

impl Check<'_> {
    fn error(&mut self, location: &Location, problem: Problem) {
        self.validation.errors.push(ValidationError {
            location: location.clone(),
            problem,
        });
    }

    fn warn(&mut self, location: &Location, concern: Concern) {
        self.validation.warnings.push(ValidationWarning {
            location: location.clone(),
            concern,
        });
    }

    fn ruleset_fields(&mut self, ruleset: &Ruleset) {
        let here = Location::ruleset();
        self.agency(&here, &ruleset.fallback_agency);
        if !self.catalog.has_policy(&ruleset.default_policy) {
            self.error(
                &here,
                Problem::UnknownPolicy {
                    policy: ruleset.default_policy.clone(),
                },
            );
        }
    }

    fn agency(&mut self, here: &Location, code: &str) {
        match self.catalog.agency(code) {
            None => self.error(
                here,
                Problem::UnknownAgency {
                    agency: code.to_owned(),
                },
            ),
            Some(agency) if !agency.active => self.error(
                here,
                Problem::InactiveAgency {
                    agency: code.to_owned(),
                },
            ),
            Some(_) => {}
        }
    }

    fn condition(&mut self, here: &Location, condition: &Condition) {
        let catalog = self.catalog;
        empty_list(self, here, "kind", condition.kind.as_deref());
        empty_list(
            self,
            here,
            "applicant_type",
            condition.applicant_type.as_deref(),
        );
        empty_list(self, here, "channel", condition.channel.as_deref());
        empty_list(self, here, "any", condition.any.as_deref());
        if empty_list(self, here, "category", condition.category.as_deref()) {
            for code in condition.category.iter().flatten() {
                if !catalog.categories.contains(code) {
                    self.error(
                        here,
                        Problem::UnknownCategory {
                            category: code.clone(),
                        },
                    );
                }
            }
        }
        if empty_list(self, here, "territory", condition.territory.as_deref()) {
            for code in condition.territory.iter().flatten() {
                if !catalog.territories.contains(code) {
                    self.error(
                        here,
                        Problem::UnknownTerritory {
                            territory: code.clone(),
                        },
                    );
                }
            }
        }
        if let Some(keywords) = &condition.keywords {
            self.keywords(here, keywords);
        }
        if let Some(window) = condition.filed {
            if let (Some(from), Some(until)) = (window.from, window.until) {
                if until < from {
                    self.error(here, Problem::EmptyWindow);
                }
            }
        }
        for child in condition.all.iter().chain(&condition.any).flatten() {
            self.condition(here, child);
        }
        if let Some(not) = &condition.not {
            self.condition(here, not);
        }
    }

    fn keywords(&mut self, here: &Location, keywords: &Keywords) {
        for (list, words) in [
            ("any", &keywords.any),
            ("all", &keywords.all),
            ("none", &keywords.none),
        ] {
            let mut seen = BTreeSet::new();
            for keyword in words {
                if let Some(reason) = keyword_flaw(keyword) {
                    let keyword = keyword.clone();
                    self.error(
                        here,
                        Problem::BadKeyword {
                            list,
                            keyword,
                            reason,
                        },
                    );
                } else if !seen.insert(fold(keyword)) {
                    self.warn(
                        here,
                        Concern::RepeatedKeyword {
                            list,
                            keyword: keyword.clone(),
                        },
                    );
                }
            }
        }
    }

    fn action(&mut self, here: &Location, rule: &Rule) {
        match &rule.then.target {
            Target::Agency(code) => self.agency(here, code),
            Target::AgencyOfKind(kind) => self.coverage(here, kind, rule.when.territory.as_deref()),
        }
        if let Some(policy) = &rule.then.policy {
            if !self.catalog.has_policy(policy) {
                self.error(
                    here,
                    Problem::UnknownPolicy {
                        policy: policy.clone(),
                    },
                );
            }
        }
    }

    /// Whether agencies of `kind` cover the territories a rule may apply to: none at all is
    /// an error, some is a warning.
    fn coverage(&mut self, here: &Location, kind: &str, territories: Option<&[String]>) {
        let catalog = self.catalog;
        let covers_something = catalog
            .agencies()
            .any(|agency| agency.active && agency.kind == kind && !agency.covers.is_empty());
        if !covers_something {
            self.error(
                here,
                Problem::KindCoversNothing {
                    kind: kind.to_owned(),
                },
            );
            return;
        }
        let tree = &catalog.territories;
        let mut leaves: Vec<&str> = tree
            .codes()
            .filter(|code| !tree.has_children(code))
            .filter(|code| match territories {
                None => true,
                Some(wanted) => wanted.iter().any(|w| tree.is_within(code, w)),
            })
            .collect();
        if leaves.is_empty() {
            return; // an unknown territory, reported by `condition`
        }
        leaves.sort_unstable();
        let uncovered: Vec<String> = leaves
            .iter()
            .filter(|leaf| catalog.covering_agency(kind, leaf).is_none())
            .map(|leaf| (*leaf).to_owned())
            .collect();
        if uncovered.len() == leaves.len() {
            self.error(
                here,
                Problem::KindCoversNoneHere {
                    kind: kind.to_owned(),
                },
            );
        } else if !uncovered.is_empty() {
            let count = uncovered.len();
            let examples = uncovered.into_iter().take(3).collect();
            self.warn(
                here,
                Concern::PartialCoverage {
                    kind: kind.to_owned(),
                    count,
                    examples,
                },
            );
        }
    }

    /// A rule is unreachable when a rule evaluated before it routes to a fixed, active agency
    /// and its plain conditions hold for every appeal the later rule's conditions hold for.
    fn unreachable_rules(&mut self, ruleset: &Ruleset) {
        let mut order: Vec<&Rule> = ruleset.rules.iter().collect();
        order.sort_by_key(|rule| std::cmp::Reverse(rule.priority));
        let mut earlier: Vec<&Rule> = Vec::new();
        for rule in order {
            let shadow = earlier
                .iter()
                .find(|first| covers(self.catalog, &first.when, &rule.when));
            if let Some(first) = shadow {
                let problem = Problem::Unreachable {
                    by: first.id.clone(),
                    by_line: first.line,
                };
                self.error(&Location::of(rule), problem);
            }
            // Only a rule that surely routes what it matches can shadow: an agency_of_kind
            // rule falls through where no agency covers the district.
            if let Target::Agency(code) = &rule.then.target {
                if self
                    .catalog
                    .agency(code)
                    .is_some_and(|agency| agency.active)
                {
                    earlier.push(rule);
                }
            }
        }
    }

    /// Warns once per territory that two active agencies of a kind the rules use both cover.
    fn overlapping_coverage(&mut self, ruleset: &Ruleset) {
        let kinds: BTreeSet<&str> = ruleset
            .rules
            .iter()
            .filter_map(|rule| match &rule.then.target {
                Target::AgencyOfKind(kind) => Some(kind.as_str()),
                Target::Agency(_) => None,
            })
            .collect();
        for kind in kinds {
            let mut by_territory: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for agency in self
                .catalog
                .agencies()
                .filter(|a| a.active && a.kind == kind)
            {
                for territory in &agency.covers {
                    by_territory
                        .entry(territory)
                        .or_default()
                        .push(agency.code.clone());
                }
            }
            for (territory, agencies) in by_territory {
                if agencies.len() > 1 {
                    let concern = Concern::OverlappingCoverage {
                        kind: kind.to_owned(),
                        territory: territory.to_owned(),
                        agencies,
                    };
                    self.warn(&Location::ruleset(), concern);
                }
            }
        }
    }
}

/// Reports an empty list; returns whether the list (when present) has members.
fn empty_list<T>(
    check: &mut Check<'_>,
    here: &Location,
    field: &'static str,
    list: Option<&[T]>,
) -> bool {
    if list.is_some_and(<[T]>::is_empty) {
        check.error(here, Problem::EmptyList { field });
        return false;
    }
    true
}

/// Why a keyword cannot be used, if it cannot.
fn keyword_flaw(keyword: &str) -> Option<&'static str> {
    if keyword.trim().is_empty() {
        return Some("it is empty or only whitespace");
    }
    if keyword.trim() != keyword {
        return Some("it has leading or trailing whitespace");
    }
    if keyword.chars().any(char::is_control) {
        return Some("it contains a control character");
    }
    if keyword.chars().any(|c| "*?[](){}|\\^$+.".contains(c)) {
        return Some(
            "keywords are plain words, not patterns (a keyword already matches any word it starts)",
        );
    }
    let folded = fold(keyword);
    if folded.is_empty() {
        return Some("it has no letters or digits");
    }
    if folded.chars().count() < 2 {
        return Some("a single letter would match far too many words");
    }
    None
}

/// Whether `wide` holds for every appeal `narrow` holds for, judged on plain fields only:
/// `wide` must have no `all`/`any`/`not`, and each of its fields must be implied by the same
/// field of `narrow`. `false` means "not shown", not "certainly not".
fn covers(catalog: &Catalog, wide: &Condition, narrow: &Condition) -> bool {
    if wide.all.is_some() || wide.any.is_some() || wide.not.is_some() {
        return false;
    }
    let within = |wide: &Option<Vec<String>>,
                  narrow: &Option<Vec<String>>,
                  tree: &super::catalog::Hierarchy| match (wide, narrow) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(wide), Some(narrow)) => narrow
            .iter()
            .all(|n| wide.iter().any(|w| tree.is_within(n, w))),
    };
    subset(&wide.kind, &narrow.kind)
        && within(&wide.category, &narrow.category, &catalog.categories)
        && within(&wide.territory, &narrow.territory, &catalog.territories)
        && keywords_implied(wide.keywords.as_ref(), narrow.keywords.as_ref())
        && (wide.collective.is_none() || wide.collective == narrow.collective)
        && subset(&wide.applicant_type, &narrow.applicant_type)
        && subset(&wide.channel, &narrow.channel)
        && window_within(wide, narrow)
}

fn subset<T: PartialEq>(wide: &Option<Vec<T>>, narrow: &Option<Vec<T>>) -> bool {
    match (wide, narrow) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(wide), Some(narrow)) => narrow.iter().all(|n| wide.contains(n)),
    }
}

fn window_within(wide: &Condition, narrow: &Condition) -> bool {
    let Some(wide) = wide.filed else { return true };
    let narrow = narrow.filed.unwrap_or_default();
    let from_ok = match (wide.from, narrow.from) {
        (None, _) => true,
        (Some(w), Some(n)) => w <= n,
        (Some(_), None) => false,
    };
    let until_ok = match (wide.until, narrow.until) {
        (None, _) => true,
        (Some(w), Some(n)) => n <= w,
        (Some(_), None) => false,
    };
    from_ok && until_ok
}

/// Whether the keyword tests of `wide` hold whenever those of `narrow` do. A keyword `k`
/// occurring implies every keyword that is a prefix of `k` occurs, at the same place.
fn keywords_implied(wide: Option<&Keywords>, narrow: Option<&Keywords>) -> bool {
    let Some(wide) = wide else { return true };
    let folded = |list: &[String]| list.iter().map(|k| fold(k)).collect::<Vec<_>>();
    let empty = Keywords::default();
    let narrow = narrow.unwrap_or(&empty);
    let (w_any, w_all, w_none) = (folded(&wide.any), folded(&wide.all), folded(&wide.none));
    let (n_any, n_all, n_none) = (
        folded(&narrow.any),
        folded(&narrow.all),
        folded(&narrow.none),
    );
    let starts_with_one_of =
        |k: &String, prefixes: &[String]| prefixes.iter().any(|p| k.starts_with(p.as_str()));
    let any_ok = w_any.is_empty()
        || n_all.iter().any(|k| starts_with_one_of(k, &w_any))
        || (!n_any.is_empty() && n_any.iter().all(|k| starts_with_one_of(k, &w_any)));
    let all_ok = w_all
        .iter()
        .all(|w| n_all.iter().any(|n| n.starts_with(w.as_str())));
    let none_ok = w_none.iter().all(|w| starts_with_one_of(w, &n_none));
    any_ok && all_ok && none_ok
}
