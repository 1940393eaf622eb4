//! Account fields parsed at the edge: email addresses, passwords and names.

use unicode_normalization::UnicodeNormalization;

use super::field::FieldError;

/// An email address, trimmed and lower-cased, so that uniqueness is case-insensitive.
/// The check is deliberately pragmatic: one `@`, a non-empty local part, a dotted domain,
/// no spaces or control characters, at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(FieldError::empty(field));
        }
        if email.chars().count() > 254 {
            return Err(FieldError::too_long(field, 254));
        }
        let valid = match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && local.len() <= 64
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
                    && !domain.contains("..")
            }
            None => false,
        };
        if !valid || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(FieldError::invalid(field, "must be an email address"));
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A new password that meets NIST SP 800-63B: a length in characters between the
/// configured bounds, not one of the most common passwords and not the account's email.
/// Composition rules (a digit, a capital, ...) are deliberately not imposed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

/// Passwords seen most often in breach corpora; refused whatever their length.
const COMMON_PASSWORDS: &[&str] = &[
    "password",
    "password1",
    "password123",
    "12345678",
    "123456789",
    "1234567890",
    "qwertyuiop",
    "qwerty123",
    "11111111",
    "00000000",
    "iloveyou",
    "1q2w3e4r",
    "1qaz2wsx",
    "abc12345",
    "passw0rd",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "welcome1",
    "admin123",
    "letmein1",
    "87654321",
    "qwertyui",
];

impl Password {
    pub fn parse(
        field: &str,
        raw: &str,
        min_chars: usize,
        max_chars: usize,
        email: Option<&str>,
    ) -> Result<Self, FieldError> {
        let password: String = raw.nfkc().collect();
        let chars = password.chars().count();
        if chars < min_chars {
            return Err(FieldError::too_short(field, min_chars));
        }
        if chars > max_chars {
            return Err(FieldError::too_long(field, max_chars));
        }
        let lowered = password.to_lowercase();
        if COMMON_PASSWORDS.contains(&lowered.as_str()) {
            return Err(FieldError::new(field, "too_common", "is one of the most common passwords"));
        }
        if email.is_some_and(|e| e.eq_ignore_ascii_case(&password)) {
            return Err(FieldError::new(field, "same_as_email", "must not be the email address"));
        }
        Ok(Self(password))
    }

    /// The password as typed (NFKC-normalised, so the same password typed on different
    /// keyboards hashes the same).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

/// A person's full name: 1 to 200 characters, trimmed, NFC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullName(String);

impl FullName {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let name: String = raw.trim().nfc().collect();
        match name.chars().count() {
            0 => Err(FieldError::empty(field)),
            n if n > 200 => Err(FieldError::too_long(field, 200)),
            _ if name.chars().any(char::is_control) => {
                Err(FieldError::invalid(field, "must not contain control characters"))
            }
            _ => Ok(Self(name)),
        }
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_lowercased_and_checked() {
        assert_eq!(Email::parse("email", "  Nigora@Mail.TJ ").unwrap().as_str(), "nigora@mail.tj");
        for bad in ["", "no-at-sign", "@mail.tj", "a@tj", "a@.tj", "a b@mail.tj", "a@mail..tj"] {
            assert!(Email::parse("email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn password_length_is_counted_in_characters() {
        // Eight Tajik letters are sixteen bytes: the rule counts characters.
        assert!(Password::parse("password", "ҳуқуқҷғӯ", 8, 128, None).is_ok());
        let err = Password::parse("password", "ҳуқуқҷғ", 8, 128, None).unwrap_err();
        assert_eq!(err.code, "too_short");
        assert_eq!(Password::parse("password", &"x".repeat(129), 8, 128, None).unwrap_err().code, "too_long");
    }

    #[test]
    fn common_passwords_and_the_email_itself_are_refused() {
        assert_eq!(Password::parse("p", "Password123", 8, 128, None).unwrap_err().code, "too_common");
        assert_eq!(
            Password::parse("p", "ali@mail.tj", 8, 128, Some("ali@mail.tj")).unwrap_err().code,
            "same_as_email"
        );
    }

    #[test]
    fn full_name_refuses_empty_and_control_characters() {
        assert!(FullName::parse("full_name", "  ").is_err());
        assert!(FullName::parse("full_name", "Ali\u{0007}").is_err());
        assert!(FullName::parse("full_name", "Раҳимов Алишер").is_ok());
    }
}
