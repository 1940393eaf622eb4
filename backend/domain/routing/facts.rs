//! What routing knows about an appeal: the facts the rules language can test.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::appeal::{AppealKind, ApplicantType, Channel};

/// The facts of one appeal that rules may test. Built from an appeal (or a draft, for
/// simulation) by copying its fields; routing reads nothing else, so the same facts always
/// give the same decision under the same ruleset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingFacts {
    pub kind: AppealKind,
    /// The category code chosen by the applicant.
    pub category: String,
    /// The most specific territory code known (a district, or a region when no district).
    pub territory: String,
    pub subject: String,
    pub text: String,
    pub collective: bool,
    pub applicant_type: ApplicantType,
    pub channel: Channel,
    /// The local (agency time zone) date the appeal was registered.
    pub filed_on: NaiveDate,
}
