//! Checks a parsed ruleset against a catalog before it may be saved or activated. Every
//! problem is reported at once, each naming its rule and, for TOML sources, the line.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use serde::Serialize;

use super::catalog::Catalog;
use super::folding::fold;
use super::rules::{Condition, Keywords, Rule, Ruleset, Target};
use super::shadowing::shadowed_rules;

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
        Self { rule_id: Some(rule.id.clone()), line: rule.line }
    }

    fn ruleset() -> Self {
        Self { rule_id: None, line: None }
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
    BadKeyword { list: &'static str, keyword: String, reason: &'static str },
    #[error("`{field}` is an empty list, so the condition can never hold")]
    EmptyList { field: &'static str },
    #[error("the `filed` window ends before it starts")]
    EmptyWindow,
}

fn line_suffix(line: Option<usize>) -> String {
    line.map(|line| format!(" on line {line}")).unwrap_or_default()
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
    PartialCoverage { kind: String, count: usize, examples: Vec<String> },
    #[error("agencies {} of kind '{kind}' all cover '{territory}'; {} is chosen", agencies.join(", "), agencies[0])]
    OverlappingCoverage { kind: String, territory: String, agencies: Vec<String> },
    #[error("keyword {keyword:?} appears twice in keywords.{list}")]
    RepeatedKeyword { list: &'static str, keyword: String },
    #[error("the ruleset has no rules: every appeal goes to the fallback agency")]
    NoRules,
}

/// Checks `ruleset` against `catalog`; see [`Problem`] and [`Concern`] for what is found.
/// Findings come in rule order; a rule may have several.
pub fn validate(ruleset: &Ruleset, catalog: &Catalog) -> Validation {
    let tree = &catalog.territories;
    let mut leaves: Vec<String> =
        tree.codes().filter(|code| !tree.has_children(code)).map(str::to_owned).collect();
    leaves.sort_unstable();
    let mut check = Check { catalog, validation: Validation::default(), leaves, uncovered: HashMap::new() };
    check.ruleset_fields(ruleset);
    let mut first_line_of: HashMap<&str, Option<usize>> = HashMap::new();
    for rule in &ruleset.rules {
        let here = Location::of(rule);
        if rule.id.trim().is_empty() {
            check.error(&here, Problem::EmptyId);
        } else if let Some(first_line) = first_line_of.get(rule.id.as_str()) {
            check.error(&here, Problem::DuplicateId { first_line: *first_line });
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
    /// Territories without children, sorted: where appeals are usually filed.
    leaves: Vec<String>,
    /// By agency kind: the leaves no active agency of that kind covers, sorted.
    uncovered: HashMap<String, Vec<String>>,
}

impl Check<'_> {
    fn error(&mut self, location: &Location, problem: Problem) {
        self.validation.errors.push(ValidationError { location: location.clone(), problem });
    }

    fn warn(&mut self, location: &Location, concern: Concern) {
        self.validation.warnings.push(ValidationWarning { location: location.clone(), concern });
    }

    fn ruleset_fields(&mut self, ruleset: &Ruleset) {
        let here = Location::ruleset();
        self.agency(&here, &ruleset.fallback_agency);
        if !self.catalog.has_policy(&ruleset.default_policy) {
            self.error(&here, Problem::UnknownPolicy { policy: ruleset.default_policy.clone() });
        }
    }

    fn agency(&mut self, here: &Location, code: &str) {
        match self.catalog.agency(code) {
            None => self.error(here, Problem::UnknownAgency { agency: code.to_owned() }),
            Some(agency) if !agency.active => {
                self.error(here, Problem::InactiveAgency { agency: code.to_owned() })
            }
            Some(_) => {}
        }
    }

    fn condition(&mut self, here: &Location, condition: &Condition) {
        let catalog = self.catalog;
        empty_list(self, here, "kind", condition.kind.as_deref());
        empty_list(self, here, "applicant_type", condition.applicant_type.as_deref());
        empty_list(self, here, "channel", condition.channel.as_deref());
        empty_list(self, here, "any", condition.any.as_deref());
        if empty_list(self, here, "category", condition.category.as_deref()) {
            for code in condition.category.iter().flatten() {
                if !catalog.categories.contains(code) {
                    self.error(here, Problem::UnknownCategory { category: code.clone() });
                }
            }
        }
        if empty_list(self, here, "territory", condition.territory.as_deref()) {
            for code in condition.territory.iter().flatten() {
                if !catalog.territories.contains(code) {
                    self.error(here, Problem::UnknownTerritory { territory: code.clone() });
                }
            }
        }
        if let Some(keywords) = &condition.keywords {
            self.keywords(here, keywords);
        }
        if let Some(window) = condition.filed
            && let (Some(from), Some(until)) = (window.from, window.until)
            && until < from
        {
            self.error(here, Problem::EmptyWindow);
        }
        for child in condition.all.iter().chain(&condition.any).flatten() {
            self.condition(here, child);
        }
        if let Some(not) = &condition.not {
            self.condition(here, not);
        }
    }

    fn keywords(&mut self, here: &Location, keywords: &Keywords) {
        for (list, words) in [("any", &keywords.any), ("all", &keywords.all), ("none", &keywords.none)] {
            let mut seen = BTreeSet::new();
            for keyword in words {
                if let Some(reason) = keyword_flaw(keyword) {
                    let keyword = keyword.clone();
                    self.error(here, Problem::BadKeyword { list, keyword, reason });
                } else if !seen.insert(fold(keyword)) {
                    self.warn(here, Concern::RepeatedKeyword { list, keyword: keyword.clone() });
                }
            }
        }
    }

    fn action(&mut self, here: &Location, rule: &Rule) {
        match &rule.then.target {
            Target::Agency(code) => self.agency(here, code),
            Target::AgencyOfKind(kind) => self.coverage(here, kind, rule.when.territory.as_deref()),
        }
        if let Some(policy) = &rule.then.policy
            && !self.catalog.has_policy(policy)
        {
            self.error(here, Problem::UnknownPolicy { policy: policy.clone() });
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
            self.error(here, Problem::KindCoversNothing { kind: kind.to_owned() });
            return;
        }
        let tree = &catalog.territories;
        let leaves: Vec<&str> = self
            .leaves
            .iter()
            .map(String::as_str)
            .filter(|leaf| territories.is_none_or(|wanted| wanted.iter().any(|w| tree.is_within(leaf, w))))
            .collect();
        if leaves.is_empty() {
            return; // an unknown territory, reported by `condition`
        }
        let uncovered_of_kind = self.uncovered.entry(kind.to_owned()).or_insert_with(|| {
            let mut leaves: Vec<String> = tree
                .codes()
                .filter(|code| !tree.has_children(code))
                .filter(|leaf| catalog.covering_agency(kind, leaf).is_none())
                .map(str::to_owned)
                .collect();
            leaves.sort_unstable();
            leaves
        });
        let uncovered: Vec<String> = leaves
            .iter()
            .filter(|leaf| uncovered_of_kind.binary_search_by(|u| u.as_str().cmp(leaf)).is_ok())
            .map(|leaf| (*leaf).to_owned())
            .collect();
        if uncovered.len() == leaves.len() {
            self.error(here, Problem::KindCoversNoneHere { kind: kind.to_owned() });
        } else if !uncovered.is_empty() {
            let count = uncovered.len();
            let examples = uncovered.into_iter().take(3).collect();
            self.warn(here, Concern::PartialCoverage { kind: kind.to_owned(), count, examples });
        }
    }

    fn unreachable_rules(&mut self, ruleset: &Ruleset) {
        for (rule, by) in shadowed_rules(ruleset, self.catalog) {
            let problem = Problem::Unreachable { by: by.id.clone(), by_line: by.line };
            self.error(&Location::of(rule), problem);
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
            for agency in self.catalog.agencies().filter(|a| a.active && a.kind == kind) {
                for territory in &agency.covers {
                    by_territory.entry(territory).or_default().push(agency.code.clone());
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
fn empty_list<T>(check: &mut Check<'_>, here: &Location, field: &'static str, list: Option<&[T]>) -> bool {
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
        return Some("keywords are plain words, not patterns (a keyword already matches any word it starts)");
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
