//! A fixed-size set of rule positions, so that index lookups combine by word-wise `and`.

/// A set of rule positions `0..len`, one bit each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RuleBits {
    words: Vec<u64>,
}

impl RuleBits {
    /// The empty set over `len` positions.
    pub fn empty(len: usize) -> Self {
        Self { words: vec![0; len.div_ceil(64)] }
    }

    pub fn insert(&mut self, position: usize) {
        self.words[position / 64] |= 1 << (position % 64);
    }

    pub fn union_with(&mut self, other: &RuleBits) {
        for (word, other) in self.words.iter_mut().zip(&other.words) {
            *word |= other;
        }
    }

    /// The positions in all three sets, ascending. The sets must have the same length.
    pub fn intersection<'a>(a: &'a Self, b: &'a Self, c: &'a Self) -> impl Iterator<Item = usize> + 'a {
        a.words
            .iter()
            .zip(&b.words)
            .zip(&c.words)
            .enumerate()
            .flat_map(|(at, ((a, b), c))| Ones(a & b & c).map(move |bit| at * 64 + bit))
    }
}

/// The positions of the set bits of a word, lowest first.
struct Ones(u64);

impl Iterator for Ones {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.0 == 0 {
            return None;
        }
        let bit = self.0.trailing_zeros() as usize;
        self.0 &= self.0 - 1;
        Some(bit)
    }
}
