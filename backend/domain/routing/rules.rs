//! The rules language: the serde types a ruleset is written in (TOML, or the same structure
//! as JSON), and parsing that remembers on which line each TOML rule starts.
//!
//! The grammar with worked examples is in `docs/rules.md`. Parsing checks only the shape;
//! whether the codes exist and whether every rule can match is [`super::validate`]'s job.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};

use crate::domain::appeal::{AppealKind, ApplicantType, Channel, Priority};

/// The policy a rule gets when neither it nor the ruleset names one.
pub const STANDARD_POLICY: &str = "standard";

/// A whole ruleset: a fallback agency, a default policy and ordered rules.
///
/// Rules keep the order they were written in; evaluation order (priority, then file order)
/// is established when the ruleset is compiled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ruleset {
    /// Receives every appeal that no rule routes. Required.
    pub fallback_agency: String,
    /// The deadline policy of decisions whose rule names none. Defaults to `"standard"`.
    #[serde(default = "standard_policy")]
    pub default_policy: String,
    /// The rules, in file order. Written `[[rule]]` in TOML and `"rule": [...]` in JSON.
    #[serde(default, rename = "rule", skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
}

fn standard_policy() -> String {
    STANDARD_POLICY.to_owned()
}

/// One rule: when its condition holds for an appeal, its action routes the appeal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique within the ruleset; stored with every appeal this rule routes.
    pub id: String,
    /// Higher is tried first; rules of equal priority are tried in file order. Default 0.
    #[serde(default)]
    pub priority: i32,
    /// Free text for administrators; never interpreted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The condition; an empty (or absent) `when` holds for every appeal.
    #[serde(default)]
    pub when: Condition,
    /// What happens to an appeal the condition holds for.
    pub then: Action,
    /// The 1-based line of the rule's `id` in TOML source; `None` for JSON or built rules.
    #[serde(skip)]
    pub line: Option<usize>,
}

/// A condition over an appeal. Every field that is present must hold (they are joined by
/// "and"); a field that is absent does not constrain. `all`, `any` and `not` nest conditions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The appeal's kind is one of these. Written as one value or a list.
    #[serde(default, deserialize_with = "one_or_many", skip_serializing_if = "Option::is_none")]
    pub kind: Option<Vec<AppealKind>>,
    /// The appeal's category is one of these codes or below one of them.
    #[serde(default, deserialize_with = "one_or_many", skip_serializing_if = "Option::is_none")]
    pub category: Option<Vec<String>>,
    /// The appeal's territory is one of these codes or below one of them.
    #[serde(default, deserialize_with = "one_or_many", skip_serializing_if = "Option::is_none")]
    pub territory: Option<Vec<String>>,
    /// Words in the subject and text; see [`Keywords`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keywords: Option<Keywords>,
    /// The appeal is (`true`) or is not (`false`) a collective appeal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collective: Option<bool>,
    /// The applicant is one of these types.
    #[serde(default, deserialize_with = "one_or_many", skip_serializing_if = "Option::is_none")]
    pub applicant_type: Option<Vec<ApplicantType>>,
    /// The appeal came by one of these channels.
    #[serde(default, deserialize_with = "one_or_many", skip_serializing_if = "Option::is_none")]
    pub channel: Option<Vec<Channel>>,
    /// The appeal was filed within this window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filed: Option<DateWindow>,
    /// Every one of these conditions holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<Vec<Condition>>,
    /// At least one of these conditions holds (an empty list never holds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any: Option<Vec<Condition>>,
    /// This condition does not hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not: Option<Box<Condition>>,
}

/// Keyword tests on the appeal's subject and text, after folding (see `docs/rules.md`).
/// A keyword matches where it starts a word: `"взятк"` matches "взятку", not "невзятку".
/// The three lists are joined by "and"; an empty or absent list does not constrain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keywords {
    /// At least one of these occurs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub any: Vec<String>,
    /// Every one of these occurs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub all: Vec<String>,
    /// None of these occurs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub none: Vec<String>,
}

/// An inclusive window of filing dates (the appeal's local registration date). An absent
/// bound is open. Dates are written as quoted ISO strings: `from = "2026-01-01"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateWindow {
    /// First day of the window, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<NaiveDate>,
    /// Last day of the window, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<NaiveDate>,
}

impl DateWindow {
    /// Whether `day` lies in the window.
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from.is_none_or(|from| from <= day) && self.until.is_none_or(|until| day <= until)
    }
}

/// What a matching rule does: where the appeal goes and how it is handled there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ActionSource", into = "ActionSource")]
pub struct Action {
    /// The agency that receives the appeal.
    pub target: Target,
    /// The deadline policy; the ruleset's `default_policy` when absent.
    pub policy: Option<String>,
    /// The working priority; `normal` when absent.
    pub priority: Option<Priority>,
    /// Labels copied to the appeal, in the order written.
    pub tags: Vec<String>,
}

/// The receiving agency of an [`Action`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// This agency, by code (`agency = "mvd"`).
    Agency(String),
    /// The active agency of this kind whose covered territories include the appeal's
    /// territory or its nearest ancestor (`agency_of_kind = "district-hukumat"`). When no
    /// such agency exists for an appeal, the rule does not apply to it and routing goes on.
    AgencyOfKind(String),
}

/// The written form of an [`Action`], where the two ways to name the agency are two keys.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    agency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    agency_of_kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    priority: Option<Priority>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
}

impl TryFrom<ActionSource> for Action {
    type Error = &'static str;

    fn try_from(source: ActionSource) -> Result<Self, Self::Error> {
        let target = match (source.agency, source.agency_of_kind) {
            (Some(code), None) => Target::Agency(code),
            (None, Some(kind)) => Target::AgencyOfKind(kind),
            _ => return Err("`then` needs exactly one of `agency` or `agency_of_kind`"),
        };
        Ok(Self { target, policy: source.policy, priority: source.priority, tags: source.tags })
    }
}

impl From<Action> for ActionSource {
    fn from(action: Action) -> Self {
        let (agency, agency_of_kind) = match action.target {
            Target::Agency(code) => (Some(code), None),
            Target::AgencyOfKind(kind) => (None, Some(kind)),
        };
        Self { agency, agency_of_kind, policy: action.policy, priority: action.priority, tags: action.tags }
    }
}

/// Accepts `field = "x"` as well as `field = ["x", "y"]`.
fn one_or_many<'de, D, T>(deserializer: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged, expecting = "a value or a list of values")]
    enum OneOrMany<T> {
        One(T),
        Many(Vec<T>),
    }
    Ok(Some(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(value) => vec![value],
        OneOrMany::Many(values) => values,
    }))
}

/// A ruleset source that could not be read as a ruleset.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Bad TOML syntax or shape; the message names the line and column.
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    /// Bad JSON syntax or shape; the message names the line and column.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
}

impl Ruleset {
    /// Reads a ruleset from TOML, recording each rule's line in [`Rule::line`].
    pub fn from_toml(source: &str) -> Result<Self, ParseError> {
        let mut ruleset: Ruleset = toml::from_str(source)?;
        let lines = rule_lines(source);
        for (rule, line) in ruleset.rules.iter_mut().zip(lines) {
            rule.line = line;
        }
        Ok(ruleset)
    }

    /// Reads a ruleset from JSON (the API's form); rules carry no line numbers.
    pub fn from_json(source: &str) -> Result<Self, ParseError> {
        Ok(serde_json::from_str(source)?)
    }
}

/// The line of each rule's `id` (or of the rule itself when it has none), in rule order.
fn rule_lines(source: &str) -> Vec<Option<usize>> {
    let Ok(document) = toml::de::DeTable::parse(source) else {
        return Vec::new();
    };
    let Some(rules) = document.get_ref().get("rule").and_then(|rules| rules.get_ref().as_array()) else {
        return Vec::new();
    };
    // Byte offsets of every line break, so each rule's line is a binary search, not a scan of
    // the source (a ruleset of thousands of rules is hundreds of kilobytes).
    let breaks: Vec<usize> =
        source.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(at, _)| at).collect();
    rules
        .iter()
        .map(|rule| {
            let span = rule
                .get_ref()
                .as_table()
                .and_then(|table| table.get("id"))
                .map_or_else(|| rule.span(), |id| id.span());
            Some(line_of(&breaks, span.start))
        })
        .collect()
}

/// The 1-based line that contains byte `offset`, given the offsets of the line breaks.
fn line_of(breaks: &[usize], offset: usize) -> usize {
    breaks.partition_point(|&at| at < offset) + 1
}
