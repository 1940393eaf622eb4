//! The languages every text a person reads is written in.

pub use super::appeal::UnknownValue;
use super::appeal::vocabulary;

vocabulary! {
    /// A supported language: Tajik (the state language), Russian or English.
    Locale {
        Tg = "tg",
        Ru = "ru",
        En = "en",
    }
}

impl Locale {
    /// The one of three texts written in this language.
    pub fn pick<'a>(self, tg: &'a str, ru: &'a str, en: &'a str) -> &'a str {
        match self {
            Locale::Tg => tg,
            Locale::Ru => ru,
            Locale::En => en,
        }
    }

    /// Picks the best supported language from an `Accept-Language` header value, honouring
    /// q-values; `None` when the header names none of ours.
    pub fn negotiate(accept_language: &str) -> Option<Locale> {
        let mut best: Option<(f32, Locale)> = None;
        for part in accept_language.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            let Ok(locale) = primary.parse::<Locale>() else {
                continue;
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, locale));
            }
        }
        best.map(|(_, l)| l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_by_quality_and_primary_tag() {
        assert_eq!(Locale::negotiate("ru-RU,ru;q=0.9,en;q=0.8"), Some(Locale::Ru));
        assert_eq!(Locale::negotiate("de, en;q=0.5, tg;q=0.7"), Some(Locale::Tg));
        assert_eq!(Locale::negotiate("fr, de"), None);
        assert_eq!(Locale::negotiate("en;q=0"), None);
    }
}
