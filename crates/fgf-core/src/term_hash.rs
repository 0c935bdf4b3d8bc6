//! Hashes of terms, built from the parts of a term rather than its
//! string, so that looking a term up costs one hash per word plus a few
//! multiplications, and no string is built. [`of`] gives the same
//! value from a term's string (for the vocabulary).
//!
//! Also the hasher of the hash-keyed vocabulary ([`PrehashedKey`]).

const K: u64 = 0x517c_c1b7_2722_0a95;
const WORD: u64 = 0x243f_6a88_85a3_08d3;
const DICT: u64 = 0x1319_8a2e_0370_7344;
const PAIR: u64 = 0xa409_3822_299f_31d0;
const CHARS: u64 = 0x082e_fa98_ec4e_6c89;

fn mix(h: u64, x: u64) -> u64 {
    (h.rotate_left(5) ^ x).wrapping_mul(K)
}

/// A word.
pub fn word(w: &str) -> u64 {
    w.as_bytes().iter().fold(WORD, |h, &b| mix(h, u64::from(b)))
}

/// `@word`, from the word's hash.
pub fn dict(word: u64) -> u64 {
    mix(DICT, word)
}

/// `a b`, from the words' hashes.
pub fn pair(a: u64, b: u64) -> u64 {
    mix(mix(PAIR, a), b)
}

/// `#xy`.
pub fn chars(x: char, y: char) -> u64 {
    mix(mix(CHARS, u64::from(x)), u64::from(y))
}

/// The hash of a term string as [`crate::features::FeatureParams::terms`] builds
/// them: `@word`, `#xy` (two CJK chars), `a b`, or a word.
pub fn of(term: &str) -> u64 {
    if let Some(w) = term.strip_prefix('@')
        && !w.is_empty()
    {
        return dict(word(w));
    }
    if let Some(rest) = term.strip_prefix('#') {
        let mut cs = rest.chars();
        if let (Some(x), Some(y), None) = (cs.next(), cs.next(), cs.next())
            && is_cjk(x)
            && is_cjk(y)
        {
            return chars(x, y);
        }
    }
    if let Some((a, b)) = term.split_once(' ') {
        return pair(word(a), word(b));
    }
    word(term)
}

/// The chars a character-pair term (`#xy`) is made of: CJK unified
/// ideographs and extension A.
pub fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

/// A hasher for keys that are already hashes.
#[derive(Default, Clone, Copy)]
pub struct PrehashedKey(u64);

impl std::hash::Hasher for PrehashedKey {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 keys are hashed");
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
