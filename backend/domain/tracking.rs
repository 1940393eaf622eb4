//! The numbers people use to refer to an appeal: the citizen's tracking number, the guest's
//! secret access code, and the agency's registration number.
//!
//! Tracking numbers and access codes use Crockford's base32 alphabet
//! (`0123456789ABCDEFGHJKMNPQRSTVWXYZ`: no I, L, O or U), which survives being read aloud,
//! written by hand and typed back: input is case-insensitive, ignores hyphens and spaces,
//! and reads `I`/`L` as `1` and `O` as `0`.

use std::fmt;

use rand::Rng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Crockford's five extra check symbols, for check values 32..=36.
const CHECK_EXTRA: &[u8; 5] = b"*~$=U";

/// The value of one Crockford symbol after the forgiving substitutions, or `None`.
fn decode_symbol(c: char) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        c => c,
    };
    ALPHABET.iter().position(|&a| char::from(a) == c).and_then(|p| u8::try_from(p).ok())
}

/// Removes what people put between groups (hyphens, spaces) and trims the ends.
fn strip_separators(raw: &str) -> impl Iterator<Item = char> + '_ {
    raw.chars().filter(|c| *c != '-' && !c.is_whitespace())
}

/// Writes `symbols` in groups of `group` separated by hyphens.
fn write_grouped(f: &mut fmt::Formatter<'_>, symbols: &[u8], group: usize) -> fmt::Result {
    for (i, chunk) in symbols.chunks(group).enumerate() {
        if i > 0 {
            f.write_str("-")?;
        }
        for &s in chunk {
            fmt::Write::write_char(f, char::from(s))?;
        }
    }
    Ok(())
}

/// Why a string is not a tracking number or access code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("must have {expected} characters (not counting hyphens and spaces), found {found}")]
    Length { expected: usize, found: usize },
    #[error("'{0}' is not a valid character")]
    InvalidCharacter(char),
    #[error("the check character does not match; the number was probably mistyped")]
    BadCheck,
}

/// A public tracking number: 10 random Crockford symbols (50 bits) and a check symbol
/// (Crockford's mod 37), shown as `XXXX-XXXX-XXC`: 13 characters, three short groups to read
/// over the phone.
///
/// Callers may rely on: two numbers are equal exactly when their canonical forms are;
/// [`Display`](fmt::Display) and serde both use the hyphenated form; [`TrackingNumber::parse`]
/// accepts anything [`Display`](fmt::Display) produces, in any case, with or without
/// hyphens. Store [`TrackingNumber::canonical`] (11 characters, no hyphens) under a unique
/// index: uniqueness is the store's job, so retry generation on a collision.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrackingNumber {
    /// The 50-bit random value.
    value: u64,
}

impl TrackingNumber {
    const DATA_SYMBOLS: usize = 10;
    const BITS: u32 = 50;

    /// Draws a fresh number from `rng` (use a cryptographically secure generator).
    ///
    /// Only values whose check symbol is one of the 32 ordinary symbols are drawn, so a
    /// generated number never contains `*~$=U` and is safe in URLs; this costs 0.2 of the
    /// 50 bits.
    pub fn generate(rng: &mut impl Rng) -> Self {
        loop {
            let value = rng.random_range(0..1u64 << Self::BITS);
            if value % 37 < 32 {
                return Self { value };
            }
        }
    }

    /// Reads a number as a person typed it: case-insensitive, hyphens and spaces ignored,
    /// `I`/`L` read as `1` and `O` as `0`. Rejects a wrong length, a foreign character or a
    /// check symbol that does not match.
    pub fn parse(raw: &str) -> Result<Self, CodeError> {
        let chars: Vec<char> = strip_separators(raw).collect();
        let expected = Self::DATA_SYMBOLS + 1;
        if chars.len() != expected {
            return Err(CodeError::Length { expected, found: chars.len() });
        }
        let mut value = 0u64;
        for &c in &chars[..Self::DATA_SYMBOLS] {
            let symbol = decode_symbol(c).ok_or(CodeError::InvalidCharacter(c))?;
            value = (value << 5) | u64::from(symbol);
        }
        let check = chars[Self::DATA_SYMBOLS];
        let check_value = decode_symbol(check)
            .or_else(|| {
                let upper = check.to_ascii_uppercase();
                CHECK_EXTRA
                    .iter()
                    .position(|&e| char::from(e) == upper)
                    .and_then(|p| u8::try_from(p + 32).ok())
            })
            .ok_or(CodeError::InvalidCharacter(check))?;
        if u64::from(check_value) != value % 37 {
            return Err(CodeError::BadCheck);
        }
        Ok(Self { value })
    }

    /// The 11 symbols (10 data + check) without hyphens: the form to store and index.
    pub fn canonical(&self) -> String {
        String::from_utf8_lossy(&self.symbols()).into_owned()
    }

    fn symbols(&self) -> [u8; 11] {
        let mut out = [0u8; 11];
        for (i, slot) in out[..Self::DATA_SYMBOLS].iter_mut().enumerate() {
            let shift = 5 * (Self::DATA_SYMBOLS - 1 - i);
            *slot = ALPHABET[((self.value >> shift) & 0x1f) as usize];
        }
        let check = (self.value % 37) as usize;
        out[Self::DATA_SYMBOLS] = match check {
            0..32 => ALPHABET[check],
            _ => CHECK_EXTRA[check - 32],
        };
        out
    }
}

impl fmt::Display for TrackingNumber {
    /// `XXXX-XXXX-XXC`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_grouped(f, &self.symbols(), 4)
    }
}

impl fmt::Debug for TrackingNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrackingNumber({self})")
    }
}

impl std::str::FromStr for TrackingNumber {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for TrackingNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TrackingNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// The secret a guest receives at filing to check an appeal's status: 12 random Crockford
/// symbols (60 bits), shown as `XXXX-XXXX-XXXX`. It has no check symbol on purpose: a
/// mistyped code is simply a wrong code (a 404, rate-limited).
///
/// The code is a secret: it is never logged ([`fmt::Debug`] hides it), not serializable, and
/// stored only as its [`AccessCodeHash`]. [`AccessCode::reveal`] gives the text once, for
/// the filing response and email.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessCode {
    symbols: [u8; AccessCode::SYMBOLS],
}

impl AccessCode {
    const SYMBOLS: usize = 12;

    /// Draws a fresh code from `rng` (use a cryptographically secure generator).
    pub fn generate(rng: &mut impl Rng) -> Self {
        let mut symbols = [0u8; Self::SYMBOLS];
        for s in &mut symbols {
            *s = ALPHABET[rng.random_range(0..ALPHABET.len())];
        }
        Self { symbols }
    }

    /// Reads a code as a person typed it, with the same forgiveness as tracking numbers.
    pub fn parse(raw: &str) -> Result<Self, CodeError> {
        let mut symbols = [0u8; Self::SYMBOLS];
        let mut found = 0;
        for c in strip_separators(raw) {
            let symbol = decode_symbol(c).ok_or(CodeError::InvalidCharacter(c))?;
            if let Some(slot) = symbols.get_mut(found) {
                *slot = ALPHABET[usize::from(symbol)];
            }
            found += 1;
        }
        if found != Self::SYMBOLS {
            return Err(CodeError::Length { expected: Self::SYMBOLS, found });
        }
        Ok(Self { symbols })
    }

    /// The code as the guest should see it, `XXXX-XXXX-XXXX`. Show it once; never log it.
    pub fn reveal(&self) -> String {
        struct Grouped<'a>(&'a [u8]);
        impl fmt::Display for Grouped<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_grouped(f, self.0, 4)
            }
        }
        Grouped(&self.symbols).to_string()
    }

    /// The hash to store. Deterministic: the same code always gives the same hash, which is
    /// what lets [`AccessCodeHash::matches`] check a presented code.
    ///
    /// A plain domain-separated SHA-256 is enough here (as for API tokens) because the code
    /// itself carries 60 random bits; a slow password hash would add nothing but latency.
    pub fn hash(&self) -> AccessCodeHash {
        let mut hasher = Sha256::new();
        hasher.update(b"murojiat.access-code.v1\0");
        hasher.update(self.symbols);
        AccessCodeHash(hasher.finalize().into())
    }
}

impl fmt::Debug for AccessCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessCode(<redacted>)")
    }
}

/// The stored form of an [`AccessCode`]: 32 bytes, written as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccessCodeHash([u8; 32]);

impl AccessCodeHash {
    /// Whether `code` is the code this hash was made from, compared in constant time.
    pub fn matches(&self, code: &AccessCode) -> bool {
        self.0.ct_eq(&code.hash().0).into()
    }

    /// The raw 32 bytes (for a binary column).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Rebuilds a hash from 32 stored bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// 64 lowercase hex digits (for a text column).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Reads 64 hex digits back; `None` when the text is not a stored hash.
    pub fn from_hex(text: &str) -> Option<Self> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).ok()?;
        Some(Self(bytes))
    }
}

impl fmt::Debug for AccessCodeHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessCodeHash({})", self.to_hex())
    }
}

/// The registration number an agency's records office gives an appeal:
/// `{AGENCY}-{YEAR}-{SEQ}`, e.g. `MVD-2026-000123`.
///
/// `agency_code` is written as given (agency codes are validated when configured, and are
/// upper case by convention); `year` is the registration year in the agency's time zone;
/// `seq` counts from 1 within (agency, year) and is zero-padded to six digits, growing
/// wider rather than wrapping after 999999. Sequencing is the store's job; this only formats.
pub fn format_registration_number(agency_code: &str, year: i32, seq: u64) -> String {
    format!("{agency_code}-{year:04}-{seq:06}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn rng() -> StdRng {
        StdRng::seed_from_u64(1339)
    }

    #[test]
    fn generated_numbers_are_short_and_read_back() {
        let mut rng = rng();
        for _ in 0..1000 {
            let n = TrackingNumber::generate(&mut rng);
            let shown = n.to_string();
            assert_eq!(shown.len(), 13, "{shown}");
            assert!(shown.len() <= 14);
            assert_eq!(shown.matches('-').count(), 2);
            assert_eq!(TrackingNumber::parse(&shown), Ok(n));
            assert_eq!(TrackingNumber::parse(&n.canonical()), Ok(n));
            assert!(!shown.contains(['*', '~', '$', '=', 'U']), "{shown}");
        }
    }

    #[test]
    fn numbers_are_not_guessable_in_sequence() {
        let mut rng = rng();
        let numbers: std::collections::HashSet<_> =
            (0..10_000).map(|_| TrackingNumber::generate(&mut rng)).collect();
        assert_eq!(numbers.len(), 10_000);
        const { assert!(TrackingNumber::BITS >= 40) };
    }

    #[test]
    fn parsing_forgives_case_separators_and_lookalikes() {
        // 0x0 ... value 1: symbols "0000000001", check 1 % 37 = 1.
        let one = TrackingNumber::parse("0000-0000-011").unwrap();
        assert_eq!(one.value, 1);
        assert_eq!(TrackingNumber::parse("oooo oooo-oli"), Ok(one));
        assert_eq!(TrackingNumber::parse("  00000000011 "), Ok(one));
        assert_eq!(one.to_string(), "0000-0000-011");
    }

    #[test]
    fn a_known_number_has_crockfords_check_symbol() {
        // 32 * 37 = 1184 -> check 0; "0000000150" = 1*32*32 + 5*32 + 0 = 1184.
        let n = TrackingNumber::parse("0000000150-0").unwrap();
        assert_eq!(n.value, 1184);
        // Value 36 has the extra check symbol 'U' ("000000014" = 36).
        let u = TrackingNumber::parse("0000-0000-14U").unwrap();
        assert_eq!(u.value, 36);
        assert_eq!(u.canonical(), "0000000014U");
        assert_eq!(TrackingNumber::parse("0000-0000-14u"), Ok(u));
    }

    #[test]
    fn parsing_rejects_mistakes() {
        let n = TrackingNumber::generate(&mut rng());
        let shown = n.canonical();
        // Every single-symbol substitution in the data part is caught by the check.
        for i in 0..10 {
            for &replacement in ALPHABET {
                let mut bytes = shown.clone().into_bytes();
                if bytes[i] == replacement {
                    continue;
                }
                bytes[i] = replacement;
                let typo = String::from_utf8(bytes).unwrap();
                assert_eq!(TrackingNumber::parse(&typo), Err(CodeError::BadCheck), "{typo}");
            }
        }
        // Adjacent transpositions too.
        for i in 0..9 {
            let mut bytes = shown.clone().into_bytes();
            if bytes[i] == bytes[i + 1] {
                continue;
            }
            bytes.swap(i, i + 1);
            let typo = String::from_utf8(bytes).unwrap();
            assert!(TrackingNumber::parse(&typo).is_err(), "{typo}");
        }
        assert_eq!(TrackingNumber::parse("0000-0000-01"), Err(CodeError::Length { expected: 11, found: 10 }));
        assert_eq!(TrackingNumber::parse("0000-0000-U11"), Err(CodeError::InvalidCharacter('U')));
        assert_eq!(TrackingNumber::parse("0000-0000-0Ж1"), Err(CodeError::InvalidCharacter('Ж')));
        assert_eq!(TrackingNumber::parse(""), Err(CodeError::Length { expected: 11, found: 0 }));
    }

    #[test]
    fn tracking_numbers_serialize_as_their_display_form() {
        let n = TrackingNumber::generate(&mut rng());
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(json, format!("\"{n}\""));
        assert_eq!(serde_json::from_str::<TrackingNumber>(&json).unwrap(), n);
        let lower = format!("\"{}\"", n.canonical().to_lowercase());
        assert_eq!(serde_json::from_str::<TrackingNumber>(&lower).unwrap(), n);
        assert!(serde_json::from_str::<TrackingNumber>("\"not-a-number\"").is_err());
    }

    #[test]
    fn access_codes_round_trip_and_hash() {
        let mut rng = rng();
        let code = AccessCode::generate(&mut rng);
        let shown = code.reveal();
        assert_eq!(shown.len(), 14);
        let typed = AccessCode::parse(&shown.to_lowercase().replace('-', " ")).unwrap();
        assert_eq!(typed, code);
        let stored = code.hash();
        assert!(stored.matches(&typed));
        assert!(!stored.matches(&AccessCode::generate(&mut rng)));
        assert_eq!(AccessCodeHash::from_hex(&stored.to_hex()), Some(stored));
        assert_eq!(AccessCodeHash::from_bytes(*stored.as_bytes()), stored);
        assert_eq!(AccessCodeHash::from_hex("zz"), None);
    }

    #[test]
    fn access_codes_are_secret_and_random() {
        let mut rng = rng();
        let code = AccessCode::generate(&mut rng);
        assert!(!format!("{code:?}").contains(&code.reveal()));
        let codes: std::collections::HashSet<String> =
            (0..10_000).map(|_| AccessCode::generate(&mut rng).reveal()).collect();
        assert_eq!(codes.len(), 10_000);
        assert!(AccessCode::parse("ABCD-EFGH-JKM").is_err());
        assert!(AccessCode::parse("ABCD-EFGH-JKMNP").is_err());
        assert_eq!(AccessCode::parse("ABCD-EFGH-JK!M"), Err(CodeError::InvalidCharacter('!')));
    }

    #[test]
    fn registration_numbers_are_padded_and_never_wrap() {
        assert_eq!(format_registration_number("MVD", 2026, 123), "MVD-2026-000123");
        assert_eq!(format_registration_number("MVD", 2026, 1), "MVD-2026-000001");
        assert_eq!(format_registration_number("VZ", 2027, 1_234_567), "VZ-2027-1234567");
    }
}
