//! What a person types when filing or working an appeal, parsed once at the edge into types
//! that stay valid. Every `parse` trims, normalises to Unicode NFC, counts characters (not
//! bytes: a Tajik letter is two bytes in UTF-8) and reports failures as a [`FieldError`]
//! naming the field, so the HTTP layer can answer 422 with every bad field at once.
//!
//! Each type names its field in a `FIELD` constant; [`NewAppeal::parse`] uses nested names
//! such as `legal_entity.tax_id` and `co_signers.names[2]`.

use std::fmt;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use super::appeal::{AppealKind, ApplicantType};
use super::field::{FieldError, FieldErrors};
use super::locale::Locale;

/// Whether a text may span several lines.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lines {
    One,
    Many,
}

/// Trims, normalises to NFC and checks the length in characters and the absence of control
/// characters (line breaks and tabs are allowed in multi-line text).
fn clean_text(field: &str, raw: &str, max_chars: usize, lines: Lines) -> Result<String, FieldError> {
    let text: String = raw.trim().nfc().collect();
    match text.chars().count() {
        0 => return Err(FieldError::empty(field)),
        n if n > max_chars => return Err(FieldError::too_long(field, max_chars)),
        _ => {}
    }
    let allowed = |c: char| lines == Lines::Many && matches!(c, '\n' | '\r' | '\t');
    if text.chars().any(|c| c.is_control() && !allowed(c)) {
        let what = match lines {
            Lines::One => "must be a single line without control characters",
            Lines::Many => "must not contain control characters",
        };
        return Err(FieldError::new(field, "invalid_character", what));
    }
    Ok(text)
}

fn required(field: impl Into<String>) -> FieldError {
    FieldError::new(field, "required", "is required")
}

fn not_allowed(field: impl Into<String>, why: &str) -> FieldError {
    FieldError::new(field, "not_allowed", why)
}

/// Moves an error from a type's own field name to where it sits in a larger request.
fn at(field: impl Into<String>, error: FieldError) -> FieldError {
    FieldError { field: field.into(), ..error }
}

/// Defines a trimmed, NFC-normalised text newtype with a character limit.
macro_rules! bounded_text {
    ($(#[$meta:meta])* $name:ident, field = $field:literal, max = $max:literal, lines = $lines:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The field name used in errors.
            pub const FIELD: &'static str = $field;
            /// The most characters (Unicode scalar values, after NFC) accepted.
            pub const MAX_CHARS: usize = $max;

            /// Trims, normalises to NFC and checks 1 to `MAX_CHARS` characters.
            pub fn parse(raw: &str) -> Result<Self, FieldError> {
                clean_text(Self::FIELD, raw, Self::MAX_CHARS, Lines::$lines).map(Self)
            }

            /// The normalised text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The normalised text, owned.
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

bounded_text! {
    /// An appeal's subject line: one line of 1–300 characters.
    Subject, field = "subject", max = 300, lines = One
}

bounded_text! {
    /// The body of an appeal: 1–20,000 characters, line breaks allowed.
    AppealText, field = "text", max = 20000, lines = Many
}

bounded_text! {
    /// The stated reason for forwarding, dismissing, extending or upholding: 1–2,000
    /// characters, line breaks allowed.
    ReasonText, field = "reason", max = 2000, lines = Many
}

bounded_text! {
    /// The text of a final answer: 1–20,000 characters, line breaks allowed.
    AnswerText, field = "text", max = 20000, lines = Many
}

bounded_text! {
    /// A public message between the citizen and staff, or an internal note: 1–5,000
    /// characters, line breaks allowed.
    MessageText, field = "text", max = 5000, lines = Many
}

bounded_text! {
    /// A postal address: 1–500 characters, line breaks allowed.
    PostalAddress, field = "postal_address", max = 500, lines = Many
}

bounded_text! {
    /// An organisation's registered name: one line of 1–300 characters.
    OrganisationName, field = "name", max = 300, lines = One
}

/// A person's full name: one line of 1–200 characters with at least one letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    /// The field name used in errors.
    pub const FIELD: &'static str = "name";
    /// The most characters accepted.
    pub const MAX_CHARS: usize = 200;

    /// Trims, normalises to NFC, checks the length and that some letter is present.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let name = clean_text(Self::FIELD, raw, Self::MAX_CHARS, Lines::One)?;
        if !name.chars().any(char::is_alphabetic) {
            return Err(FieldError::invalid(Self::FIELD, "must contain a letter"));
        }
        Ok(Self(name))
    }

    /// The normalised name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address that passed a pragmatic syntax check: an RFC 5322 dot-atom local part
/// (ASCII, at most 64 characters) and a dot-separated ASCII domain (IDNs in their `xn--`
/// form) whose labels are letters, digits and inner hyphens; at most 254 characters.
///
/// The domain is lowercased; the local part keeps its case for sending. Use
/// [`Email::normalized`] as the key for uniqueness, which is case-insensitive as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// The field name used in errors.
    pub const FIELD: &'static str = "email";
    const MAX_CHARS: usize = 254;

    /// Parses an address as typed: surrounding spaces are ignored, the domain lowercased.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(FieldError::empty(Self::FIELD));
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::too_long(Self::FIELD, Self::MAX_CHARS));
        }
        let invalid = |why: &str| FieldError::invalid(Self::FIELD, why);
        let (local, domain) = raw.rsplit_once('@').ok_or_else(|| invalid("must contain '@'"))?;
        let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
        if local.is_empty()
            || local.len() > 64
            || local.split('.').any(|part| part.is_empty() || !part.chars().all(atext))
        {
            return Err(invalid("the part before '@' is not a valid mailbox name"));
        }
        let domain = domain.to_ascii_lowercase();
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        let tld_ok =
            labels.last().is_some_and(|tld| tld.len() >= 2 && !tld.chars().all(|c| c.is_ascii_digit()));
        if labels.len() < 2 || !labels.iter().all(label_ok) || !tld_ok {
            return Err(invalid("the part after '@' is not a valid domain"));
        }
        Ok(Self(format!("{local}@{domain}")))
    }

    /// The address to send to (local part as typed, domain lowercased).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address lowercased as a whole: the key for "is this email already registered".
    pub fn normalized(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Tajik taxpayer identification number (ИНН): exactly nine ASCII digits. Only the form
/// is checked; whether the number is registered is not this type's business.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TaxId(String);

impl TaxId {
    /// The field name used in errors.
    pub const FIELD: &'static str = "tax_id";
    /// The number of digits of a Tajik INN.
    pub const DIGITS: usize = 9;

    /// Accepts nine digits, ignoring surrounding spaces.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let digits = raw.trim();
        if digits.is_empty() {
            return Err(FieldError::empty(Self::FIELD));
        }
        if digits.len() != Self::DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::invalid(Self::FIELD, "must be exactly 9 digits"));
        }
        Ok(Self(digits.to_owned()))
    }

    /// The nine digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An organisation filing an appeal through its representative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegalEntity {
    name: OrganisationName,
    tax_id: TaxId,
}

impl LegalEntity {
    /// The field name used in errors; parts are `legal_entity.name` and
    /// `legal_entity.tax_id`.
    pub const FIELD: &'static str = "legal_entity";

    /// Parses both parts, reporting the first failure with its nested field name.
    pub fn parse(name: &str, tax_id: &str) -> Result<Self, FieldError> {
        let name = OrganisationName::parse(name).map_err(|e| at("legal_entity.name", e))?;
        let tax_id = TaxId::parse(tax_id).map_err(|e| at("legal_entity.tax_id", e))?;
        Ok(Self { name, tax_id })
    }

    /// The organisation's name.
    pub fn name(&self) -> &OrganisationName {
        &self.name
    }

    /// The organisation's tax id.
    pub fn tax_id(&self) -> &TaxId {
        &self.tax_id
    }
}

/// The signatories of a collective appeal.
///
/// `count` is the number of people who signed, the applicant included: at least 2, at most
/// [`CoSigners::MAX_COUNT`]. `names` are the co-signers other than the applicant: at least
/// one, at most `count - 1` and at most [`CoSigners::MAX_NAMES`] (longer lists come as a
/// signed attachment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CoSigners {
    count: u32,
    names: Vec<PersonName>,
}

impl CoSigners {
    /// The field name used in errors; parts are `co_signers.count` and
    /// `co_signers.names[i]`.
    pub const FIELD: &'static str = "co_signers";
    /// The most signatories a collective appeal may declare.
    pub const MAX_COUNT: u32 = 10_000;
    /// The most co-signer names listed in the appeal itself.
    pub const MAX_NAMES: usize = 200;

    /// Checks the count and every listed name, reporting the first failure.
    pub fn parse(count: u32, names: &[String]) -> Result<Self, FieldError> {
        if count < 2 {
            return Err(FieldError::new(
                "co_signers.count",
                "too_small",
                "a collective appeal has at least 2 signatories",
            ));
        }
        if count > Self::MAX_COUNT {
            return Err(FieldError::new(
                "co_signers.count",
                "too_large",
                format!("must be at most {}", Self::MAX_COUNT),
            ));
        }
        if names.is_empty() {
            return Err(FieldError::empty("co_signers.names"));
        }
        let most = Self::MAX_NAMES.min(usize::try_from(count - 1).unwrap_or(usize::MAX));
        if names.len() > most {
            return Err(FieldError::new(
                "co_signers.names",
                "too_many",
                format!("must list at most {most} names (the count, less the applicant)"),
            ));
        }
        let names = names
            .iter()
            .enumerate()
            .map(|(i, n)| PersonName::parse(n).map_err(|e| at(format!("co_signers.names[{i}]"), e)))
            .collect::<Result<_, _>>()?;
        Ok(Self { count, names })
    }

    /// The number of signatories, the applicant included.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The listed co-signers (not the applicant).
    pub fn names(&self) -> &[PersonName] {
        &self.names
    }
}

/// The jurisdiction's rectangle of latitude and longitude, from configuration. Made only
/// through [`BoundingBox::new`] (also when deserialised), so `min < max` on both axes and
/// every corner is a real coordinate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawBoundingBox")]
pub struct BoundingBox {
    min_lat: f64,
    min_lon: f64,
    max_lat: f64,
    max_lon: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBoundingBox {
    min_lat: f64,
    min_lon: f64,
    max_lat: f64,
    max_lon: f64,
}

/// A bounding box in configuration that cannot be one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("bounding box needs -90 <= min_lat < max_lat <= 90 and -180 <= min_lon < max_lon <= 180")]
pub struct BoundingBoxError;

impl TryFrom<RawBoundingBox> for BoundingBox {
    type Error = BoundingBoxError;
    fn try_from(raw: RawBoundingBox) -> Result<Self, Self::Error> {
        Self::new(raw.min_lat, raw.min_lon, raw.max_lat, raw.max_lon)
    }
}

impl BoundingBox {
    /// A box from its south-west and north-east corners. It does not cross the antimeridian.
    pub fn new(min_lat: f64, min_lon: f64, max_lat: f64, max_lon: f64) -> Result<Self, BoundingBoxError> {
        let lat = |v: f64| (-90.0..=90.0).contains(&v);
        let lon = |v: f64| (-180.0..=180.0).contains(&v);
        if lat(min_lat)
            && lat(max_lat)
            && lon(min_lon)
            && lon(max_lon)
            && min_lat < max_lat
            && min_lon < max_lon
        {
            Ok(Self { min_lat, min_lon, max_lat, max_lon })
        } else {
            Err(BoundingBoxError)
        }
    }

    /// Whether the point lies inside the box or on its edge.
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        (self.min_lat..=self.max_lat).contains(&lat) && (self.min_lon..=self.max_lon).contains(&lon)
    }
}

/// A point inside the jurisdiction (WGS 84 degrees).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Coordinates {
    lat: f64,
    lon: f64,
}

impl Coordinates {
    /// The field name used in errors.
    pub const FIELD: &'static str = "location";

    /// Accepts a finite point inside `bounds`.
    pub fn parse(lat: f64, lon: f64, bounds: &BoundingBox) -> Result<Self, FieldError> {
        if !lat.is_finite() || !lon.is_finite() {
            return Err(FieldError::invalid(Self::FIELD, "must be numbers"));
        }
        if !bounds.contains(lat, lon) {
            return Err(FieldError::new(Self::FIELD, "out_of_bounds", "must lie inside the jurisdiction"));
        }
        Ok(Self { lat, lon })
    }

    /// Latitude in degrees.
    pub fn lat(&self) -> f64 {
        self.lat
    }

    /// Longitude in degrees.
    pub fn lon(&self) -> f64 {
        self.lon
    }
}

/// The code of a reference-data entry (a category, region or district) as a client sends it:
/// 1–64 of `a-z 0-9 _ - .`, lowercased. Whether the entry exists is the service's check
/// (an unknown code is a 422 with code `unknown`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ReferenceCode(String);

impl ReferenceCode {
    const MAX_CHARS: usize = 64;

    /// Parses a code for `field` (codes serve several fields, so the caller names it).
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let code = raw.trim().to_ascii_lowercase();
        if code.is_empty() {
            return Err(FieldError::empty(field));
        }
        if code.len() > Self::MAX_CHARS {
            return Err(FieldError::too_long(field, Self::MAX_CHARS));
        }
        if !code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'))
        {
            return Err(FieldError::invalid(field, "must be a reference code"));
        }
        Ok(Self(code))
    }

    /// The lowercased code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who is filing, which decides the contact details the request must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filer {
    /// A signed-in citizen: name and email come from the account and must not be sent; a
    /// postal address may be.
    Citizen,
    /// A guest without an account: name, email and postal address are all required.
    Guest,
    /// An official entering an oral or paper appeal: every contact detail is optional, since
    /// anonymous letters are registered too (and then dismissed with a reason).
    OfficialEntry,
}

/// A filing request as it arrives, before parsing. It has no channel, status, agency or
/// deadline: the server sets those. Unknown fields are rejected when deserialised.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAppeal {
    pub kind: Option<String>,
    pub subject: Option<String>,
    pub text: Option<String>,
    pub category: Option<String>,
    pub region: Option<String>,
    pub district: Option<String>,
    pub location: Option<RawLocation>,
    /// Present for a collective appeal, absent for an individual one.
    pub co_signers: Option<RawCoSigners>,
    /// `person` (the default) or `legal_entity`.
    pub applicant_type: Option<String>,
    pub legal_entity: Option<RawLegalEntity>,
    pub language: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub postal_address: Option<String>,
}

/// A point as sent.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLocation {
    pub lat: f64,
    pub lon: f64,
}

/// Co-signers as sent.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCoSigners {
    pub count: u32,
    #[serde(default)]
    pub names: Vec<String>,
}

/// A legal entity as sent.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLegalEntity {
    pub name: Option<String>,
    pub tax_id: Option<String>,
}

/// Who the applicant is, with the details that kind of applicant needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Applicant {
    Person,
    LegalEntity(LegalEntity),
}

impl Applicant {
    /// The vocabulary value stored for this applicant.
    pub fn applicant_type(&self) -> ApplicantType {
        match self {
            Applicant::Person => ApplicantType::Person,
            Applicant::LegalEntity(_) => ApplicantType::LegalEntity,
        }
    }
}

/// Contact details given with the appeal (see [`Filer`] for which are required).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Contact {
    pub name: Option<PersonName>,
    pub email: Option<Email>,
    pub postal_address: Option<PostalAddress>,
}

/// A filing request that parsed: every part valid on its own and consistent with the others.
/// Reference codes are not yet resolved (the service looks them up).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewAppeal {
    pub kind: AppealKind,
    pub subject: Subject,
    pub text: AppealText,
    pub category: ReferenceCode,
    pub region: ReferenceCode,
    pub district: Option<ReferenceCode>,
    pub location: Option<Coordinates>,
    /// `Some` for a collective appeal.
    pub co_signers: Option<CoSigners>,
    pub applicant: Applicant,
    pub language: Locale,
    pub contact: Contact,
}

impl NewAppeal {
    /// Parses a whole filing request, collecting every field error rather than stopping at
    /// the first. `bounds` is the jurisdiction's box from configuration.
    pub fn parse(raw: &RawAppeal, filer: Filer, bounds: &BoundingBox) -> Result<Self, Vec<FieldError>> {
        let mut errors = FieldErrors::default();

        let kind = errors.take(vocabulary("kind", raw.kind.as_deref()));
        let subject = errors.take(need("subject", raw.subject.as_deref()).and_then(Subject::parse));
        let text = errors.take(need("text", raw.text.as_deref()).and_then(AppealText::parse));
        let category = errors.take(code("category", raw.category.as_deref()));
        let region = errors.take(code("region", raw.region.as_deref()));
        let district = raw.district.as_deref().and_then(|d| errors.take(ReferenceCode::parse("district", d)));
        let location = raw.location.and_then(|l| errors.take(Coordinates::parse(l.lat, l.lon, bounds)));
        let co_signers =
            raw.co_signers.as_ref().and_then(|c| errors.take(CoSigners::parse(c.count, &c.names)));
        let language = errors.take(vocabulary("language", raw.language.as_deref()));
        let applicant = errors.take(applicant(raw));
        let contact = contact(raw, filer, &mut errors);

        errors.finish()?;
        match (kind, subject, text, category, region, language, applicant) {
            (
                Some(kind),
                Some(subject),
                Some(text),
                Some(category),
                Some(region),
                Some(language),
                Some(applicant),
            ) => Ok(Self {
                kind,
                subject,
                text,
                category,
                region,
                district,
                location,
                co_signers,
                applicant,
                language,
                contact,
            }),
            // Every `None` above recorded an error, so `finish` has already returned.
            _ => Err(vec![FieldError::invalid("", "incomplete appeal")]),
        }
    }

    /// Whether more than one person signed.
    pub fn is_collective(&self) -> bool {
        self.co_signers.is_some()
    }
}

fn need<'a>(field: &str, value: Option<&'a str>) -> Result<&'a str, FieldError> {
    value.ok_or_else(|| required(field))
}

fn code(field: &str, value: Option<&str>) -> Result<ReferenceCode, FieldError> {
    ReferenceCode::parse(field, need(field, value)?)
}

fn vocabulary<T: std::str::FromStr>(field: &str, value: Option<&str>) -> Result<T, FieldError> {
    need(field, value)?
        .trim()
        .parse()
        .map_err(|_| FieldError::invalid(field, "is not one of the allowed values"))
}

fn applicant(raw: &RawAppeal) -> Result<Applicant, FieldError> {
    let kind = match raw.applicant_type.as_deref() {
        None => ApplicantType::Person,
        Some(t) => vocabulary("applicant_type", Some(t))?,
    };
    match (kind, &raw.legal_entity) {
        (ApplicantType::Person, None) => Ok(Applicant::Person),
        (ApplicantType::Person, Some(_)) => {
            Err(not_allowed("legal_entity", "only for applicant_type legal_entity"))
        }
        (ApplicantType::LegalEntity, None) => Err(required("legal_entity")),
        (ApplicantType::LegalEntity, Some(entity)) => {
            let name = need("legal_entity.name", entity.name.as_deref())?;
            let tax_id = need("legal_entity.tax_id", entity.tax_id.as_deref())?;
            LegalEntity::parse(name, tax_id).map(Applicant::LegalEntity)
        }
    }
}

fn contact(raw: &RawAppeal, filer: Filer, errors: &mut FieldErrors) -> Contact {
    let mut contact = Contact::default();
    let from_account = "comes from your account";
    match filer {
        Filer::Citizen => {
            if raw.name.is_some() {
                errors.push(not_allowed("name", from_account));
            }
            if raw.email.is_some() {
                errors.push(not_allowed("email", from_account));
            }
        }
        Filer::Guest => {
            for (field, value) in
                [("name", &raw.name), ("email", &raw.email), ("postal_address", &raw.postal_address)]
            {
                if value.is_none() {
                    errors.push(required(field));
                }
            }
        }
        Filer::OfficialEntry => {}
    }
    if filer != Filer::Citizen {
        contact.name = raw.name.as_deref().and_then(|n| errors.take(PersonName::parse(n)));
        contact.email = raw.email.as_deref().and_then(|e| errors.take(Email::parse(e)));
    }
    contact.postal_address = raw.postal_address.as_deref().and_then(|a| errors.take(PostalAddress::parse(a)));
    contact
}

#[cfg(test)]
mod tests;
