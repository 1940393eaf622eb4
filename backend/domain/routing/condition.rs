//! Evaluation of conditions against an appeal's facts: conditions are compiled once (their
//! keywords folded), facts are prepared once per appeal (their text folded on first use),
//! and a failed test says which part failed so a trace can explain it.

use std::cell::OnceCell;

use crate::domain::appeal::{AppealKind, ApplicantType, Channel};

use super::catalog::Hierarchy;
use super::facts::RoutingFacts;
use super::folding::{WordStarts, fold};
use super::rules::{Condition, DateWindow};

/// A keyword as written and as folded.
#[derive(Debug, Clone)]
pub(super) struct Keyword {
    pub written: String,
    pub folded: String,
}

impl Keyword {
    fn new(written: &str) -> Self {
        Self { written: written.to_owned(), folded: fold(written) }
    }
}

/// A [`Condition`] ready to evaluate.
#[derive(Debug, Clone, Default)]
pub(super) struct Test {
    kind: Option<Vec<AppealKind>>,
    category: Option<Vec<String>>,
    territory: Option<Vec<String>>,
    any_keyword: Vec<Keyword>,
    all_keywords: Vec<Keyword>,
    no_keywords: Vec<Keyword>,
    collective: Option<bool>,
    applicant_type: Option<Vec<ApplicantType>>,
    channel: Option<Vec<Channel>>,
    filed: Option<DateWindow>,
    all: Vec<Test>,
    any: Option<Vec<Test>>,
    not: Option<Box<Test>>,
}

impl Test {
    pub fn compile(condition: &Condition) -> Self {
        let keywords = condition.keywords.clone().unwrap_or_default();
        let fold_all = |list: &[String]| list.iter().map(|k| Keyword::new(k)).collect();
        Self {
            kind: condition.kind.clone(),
            category: condition.category.clone(),
            territory: condition.territory.clone(),
            any_keyword: fold_all(&keywords.any),
            all_keywords: fold_all(&keywords.all),
            no_keywords: fold_all(&keywords.none),
            collective: condition.collective,
            applicant_type: condition.applicant_type.clone(),
            channel: condition.channel.clone(),
            filed: condition.filed,
            all: condition.all.iter().flatten().map(Test::compile).collect(),
            any: condition.any.as_ref().map(|any| any.iter().map(Test::compile).collect()),
            not: condition.not.as_deref().map(|not| Box::new(Test::compile(not))),
        }
    }

    /// `Ok` when the condition holds for the appeal, otherwise the first part that failed
    /// (fields in declaration order, then `all`, `any`, `not`).
    pub fn eval<'t>(&'t self, appeal: &Appeal<'_>) -> Result<(), Miss<'t>> {
        let facts = appeal.facts;
        let miss = |part| Err(Miss { part, test: self });
        if self.kind.as_ref().is_some_and(|kinds| !kinds.contains(&facts.kind)) {
            return miss(Part::Kind);
        }
        if let Some(codes) = &self.category
            && !appeal.categories.iter().any(|a| codes.iter().any(|c| c == a))
        {
            return miss(Part::Category);
        }
        if let Some(codes) = &self.territory
            && !appeal.territories.iter().any(|a| codes.iter().any(|c| c == a))
        {
            return miss(Part::Territory);
        }
        if !self.any_keyword.is_empty() && !self.any_keyword.iter().any(|k| appeal.mentions(&k.folded)) {
            return miss(Part::AnyKeyword);
        }
        if let Some(absent) = self.all_keywords.iter().find(|k| !appeal.mentions(&k.folded)) {
            return miss(Part::AllKeywords(absent));
        }
        if let Some(present) = self.no_keywords.iter().find(|k| appeal.mentions(&k.folded)) {
            return miss(Part::NoKeywords(present));
        }
        if self.collective.is_some_and(|collective| collective != facts.collective) {
            return miss(Part::Collective);
        }
        if self.applicant_type.as_ref().is_some_and(|types| !types.contains(&facts.applicant_type)) {
            return miss(Part::ApplicantType);
        }
        if self.channel.as_ref().is_some_and(|channels| !channels.contains(&facts.channel)) {
            return miss(Part::Channel);
        }
        if self.filed.is_some_and(|window| !window.contains(facts.filed_on)) {
            return miss(Part::Filed);
        }
        for child in &self.all {
            child.eval(appeal)?;
        }
        if let Some(any) = &self.any
            && !any.iter().any(|child| child.eval(appeal).is_ok())
        {
            return miss(Part::Any);
        }
        if let Some(not) = &self.not
            && not.eval(appeal).is_ok()
        {
            return miss(Part::Not);
        }
        Ok(())
    }
}

/// The facts of one appeal with what evaluation needs alongside: the trees to walk and the
/// folded text, computed at most once and only if some rule tests keywords.
pub(super) struct Appeal<'a> {
    pub facts: &'a RoutingFacts,
    /// The appeal's category, then its ancestors.
    categories: Vec<&'a str>,
    /// The appeal's territory, then its ancestors.
    territories: Vec<&'a str>,
    words: OnceCell<WordStarts>,
}

impl<'a> Appeal<'a> {
    pub fn new(facts: &'a RoutingFacts, categories: &'a Hierarchy, territories: &'a Hierarchy) -> Self {
        Self {
            facts,
            categories: categories.ancestors(&facts.category).collect(),
            territories: territories.ancestors(&facts.territory).collect(),
            words: OnceCell::new(),
        }
    }

    fn mentions(&self, folded_keyword: &str) -> bool {
        let words = self.words.get_or_init(|| {
            let mut folded = fold(&self.facts.subject);
            folded.push(' ');
            folded.push_str(&fold(&self.facts.text));
            WordStarts::new(folded)
        });
        words.contains(folded_keyword)
    }
}

/// The part of a condition that failed.
#[derive(Debug, Clone, Copy)]
pub(super) enum Part<'t> {
    Kind,
    Category,
    Territory,
    AnyKeyword,
    AllKeywords(&'t Keyword),
    NoKeywords(&'t Keyword),
    Collective,
    ApplicantType,
    Channel,
    Filed,
    Any,
    Not,
}

/// Why a condition did not hold: the failed part and the (sub)condition it belongs to.
#[derive(Debug, Clone, Copy)]
pub(super) struct Miss<'t> {
    part: Part<'t>,
    test: &'t Test,
}

impl Miss<'_> {
    /// The failed part as the rules language spells it, e.g. `keywords.all`.
    pub fn condition(&self) -> &'static str {
        match self.part {
            Part::Kind => "kind",
            Part::Category => "category",
            Part::Territory => "territory",
            Part::AnyKeyword => "keywords.any",
            Part::AllKeywords(_) => "keywords.all",
            Part::NoKeywords(_) => "keywords.none",
            Part::Collective => "collective",
            Part::ApplicantType => "applicant_type",
            Part::Channel => "channel",
            Part::Filed => "filed",
            Part::Any => "any",
            Part::Not => "not",
        }
    }

    /// A sentence for staff saying why the part failed for these facts.
    pub fn reason(&self, facts: &RoutingFacts) -> String {
        let test = self.test;
        let list = |items: Vec<String>| items.join(", ");
        match self.part {
            Part::Kind => format!(
                "the appeal is a {}, the rule wants {}",
                facts.kind,
                list(names(test.kind.as_deref()))
            ),
            Part::Category => format!(
                "category {} is not {} or below",
                facts.category,
                list(test.category.clone().unwrap_or_default())
            ),
            Part::Territory => format!(
                "territory {} is not {} or below",
                facts.territory,
                list(test.territory.clone().unwrap_or_default())
            ),
            Part::AnyKeyword => format!(
                "none of the keywords {} occurs",
                list(test.any_keyword.iter().map(|k| format!("\"{}\"", k.written)).collect())
            ),
            Part::AllKeywords(keyword) => format!("keyword \"{}\" does not occur", keyword.written),
            Part::NoKeywords(keyword) => format!("excluded keyword \"{}\" occurs", keyword.written),
            Part::Collective if facts.collective => "the appeal is collective".to_owned(),
            Part::Collective => "the appeal is not collective".to_owned(),
            Part::ApplicantType => format!(
                "the applicant is a {}, the rule wants {}",
                facts.applicant_type,
                list(names(test.applicant_type.as_deref()))
            ),
            Part::Channel => format!(
                "the appeal came by {}, the rule wants {}",
                facts.channel,
                list(names(test.channel.as_deref()))
            ),
            Part::Filed => {
                let bound = |day: Option<chrono::NaiveDate>| day.map_or("…".to_owned(), |d| d.to_string());
                let window = test.filed.unwrap_or_default();
                format!(
                    "filed on {}, outside {} to {}",
                    facts.filed_on,
                    bound(window.from),
                    bound(window.until)
                )
            }
            Part::Any => "none of the alternatives under `any` holds".to_owned(),
            Part::Not => "the condition under `not` holds".to_owned(),
        }
    }
}

fn names<T: ToString>(values: Option<&[T]>) -> Vec<String> {
    values.unwrap_or_default().iter().map(ToString::to_string).collect()
}
