//! The closed vocabularies that describe an appeal: its kind, the channel it came by, who
//! filed it and how urgent it is. Each is stored and sent as its snake_case name.

/// Defines a string-backed enum with `as_str`, `ALL`, `FromStr` and `Display`, so the
/// database, the API and the rules language all spell a value the same way.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            ::serde::Serialize, ::serde::Deserialize, ::utoipa::ToSchema,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable name used in storage, the API and configuration.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::appeal::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::domain::appeal::UnknownValue { vocabulary: stringify!($name), value: s.to_owned() }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use vocabulary;

/// A string that is not one of a vocabulary's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not a valid {vocabulary}")]
pub struct UnknownValue {
    pub vocabulary: &'static str,
    pub value: String,
}

vocabulary! {
    /// The four kinds of appeal of Law No. 1339 (ариза, дархост, таклиф, шикоят).
    AppealKind {
        Application = "application",
        Request = "request",
        Proposal = "proposal",
        Complaint = "complaint",
    }
}

impl AppealKind {
    /// The kind's name as a person reads it, in `locale`.
    pub fn title(self, locale: super::locale::Locale) -> &'static str {
        match self {
            AppealKind::Application => locale.pick("Ариза", "Заявление", "Application"),
            AppealKind::Request => locale.pick("Дархост", "Запрос", "Request"),
            AppealKind::Proposal => locale.pick("Таклиф", "Предложение", "Proposal"),
            AppealKind::Complaint => locale.pick("Шикоят", "Жалоба", "Complaint"),
        }
    }
}

vocabulary! {
    /// How an appeal reached the system. Set by the server, never by the client.
    Channel {
        Web = "web",
        Api = "api",
        /// Entered by an official from an oral appeal (a visit or a call).
        Oral = "oral",
        /// Entered by an official from a paper letter.
        Paper = "paper",
        Open311 = "open311",
    }
}

vocabulary! {
    /// Who the applicant is.
    ApplicantType {
        Person = "person",
        LegalEntity = "legal_entity",
    }
}

vocabulary! {
    /// How urgently an appeal should be worked; chosen by routing.
    Priority {
        Low = "low",
        Normal = "normal",
        High = "high",
        Urgent = "urgent",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips_through_its_name() {
        for kind in AppealKind::ALL {
            assert_eq!(kind.as_str().parse::<AppealKind>(), Ok(*kind));
        }
        for channel in Channel::ALL {
            assert_eq!(channel.as_str().parse::<Channel>(), Ok(*channel));
        }
        assert_eq!(serde_json::to_string(&ApplicantType::LegalEntity).unwrap(), "\"legal_entity\"");
        assert!("petition".parse::<AppealKind>().is_err());
    }
}
