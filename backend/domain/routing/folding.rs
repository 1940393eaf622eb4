//! Text folding for keyword matching, so that the way a citizen typed a word does not
//! decide where the appeal goes.
//!
//! Folding applies, in order: Unicode NFKC (so "и" + combining macron becomes "ӣ", and
//! compatibility forms such as full-width letters become ordinary ones); lower case (Unicode
//! mappings, so "Ҳ" becomes "ҳ" and "Ӯ" becomes "ӯ"); the Tajik letters that many keyboards
//! lack are replaced by the Russian letters people type instead (ғ→г, ӣ→и, қ→к, ӯ→у, ҳ→х,
//! ҷ→ч) and ё→е; every run of characters that are neither letters nor digits becomes one space.
//! Keywords and texts are folded the same way, so "ҲУҚУҚ", "ҳуқуқ" and "хукук" all meet.

use unicode_normalization::UnicodeNormalization;

/// Folds `text` for keyword matching (see the module documentation). The result has no
/// leading or trailing space and single spaces between words.
pub fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    // Text in ASCII and the Cyrillic block (nearly every appeal) is already in NFKC and
    // lower-cases by offsets; std's general tables cost tens of nanoseconds a character.
    if text.chars().all(|c| c.is_ascii() || CYRILLIC.contains(&c)) {
        fold_lowered(text.chars().map(lower_cyrillic_or_ascii), &mut folded);
    } else {
        fold_lowered(
            text.nfkc().flat_map(char::to_lowercase).map(|c| Some(c).filter(|c| c.is_alphanumeric())),
            &mut folded,
        );
    }
    folded
}

const CYRILLIC: std::ops::RangeInclusive<char> = '\u{0400}'..='\u{04FF}';

/// Lower-case letters and digits as `Some`, everything else (a separator) as `None`.
fn fold_lowered(chars: impl Iterator<Item = Option<char>>, folded: &mut String) {
    let mut pending_space = false;
    for c in chars {
        match c {
            Some(c) => {
                if pending_space && !folded.is_empty() {
                    folded.push(' ');
                }
                pending_space = false;
                folded.push(fold_letter(c));
            }
            None => pending_space = true,
        }
    }
}

/// The lower case of an ASCII or Cyrillic-block character if it is a letter or digit.
/// Agrees with `char::to_lowercase` (a property test checks the whole block).
fn lower_cyrillic_or_ascii(c: char) -> Option<char> {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric().then(|| c.to_ascii_lowercase());
    }
    let code = c as u32;
    let lower = match code {
        0x0482..=0x0489 => return None, // a thousands sign and combining marks
        0x0400..=0x040F => code + 0x50,
        0x0410..=0x042F => code + 0x20,
        0x0460..=0x0481 | 0x048A..=0x04BF | 0x04D0..=0x04FF if code.is_multiple_of(2) => code + 1,
        0x04C0 => 0x04CF,
        0x04C1..=0x04CE if code % 2 == 1 => code + 1,
        _ => code,
    };
    char::from_u32(lower)
}

/// Maps a lower-case Tajik letter to the Russian letter typed in its place.
fn fold_letter(c: char) -> char {
    match c {
        'ғ' => 'г',
        'ӣ' => 'и',
        'қ' => 'к',
        'ӯ' => 'у',
        'ҳ' => 'х',
        'ҷ' => 'ч',
        'ё' => 'е',
        other => other,
    }
}

/// Folded text prepared for many keyword look-ups: the positions where its words start,
/// ordered by the text that follows them, so a keyword is found by binary search instead of
/// a scan of the whole text.
#[derive(Debug, Clone)]
pub(super) struct WordStarts {
    text: String,
    starts: Vec<usize>,
}

impl WordStarts {
    /// Indexes `folded`, which must come from [`fold`].
    pub fn new(folded: String) -> Self {
        let mut starts: Vec<usize> = std::iter::once(0)
            .chain(folded.match_indices(' ').map(|(at, _)| at + 1))
            .filter(|&at| at < folded.len())
            .collect();
        starts.sort_unstable_by_key(|&at| &folded[at..]);
        Self { text: folded, starts }
    }

    /// Whether the folded `keyword` occurs at the start of a word.
    pub fn contains(&self, keyword: &str) -> bool {
        if keyword.is_empty() {
            return false;
        }
        let first = self.starts.partition_point(|&at| &self.text[at..] < keyword);
        self.starts.get(first).is_some_and(|&at| self.text[at..].starts_with(keyword))
    }
}
