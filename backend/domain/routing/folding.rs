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
    let mut pending_space = false;
    for c in text.nfkc().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if pending_space && !folded.is_empty() {
                folded.push(' ');
            }
            pending_space = false;
            folded.push(fold_letter(c));
        } else {
            pending_space = true;
        }
    }
    folded
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

/// Whether the folded `keyword` occurs in the folded `text` at the start of a word.
/// Both arguments must already be folded with [`fold`].
pub fn starts_a_word(text: &str, keyword: &str) -> bool {
    if keyword.is_empty() {
        return false;
    }
    text.match_indices(keyword)
        .any(|(at, _)| at == 0 || text.as_bytes()[at - 1] == b' ')
}
