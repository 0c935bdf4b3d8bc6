//! The vocabulary as tagging looks terms up: term hash ([`crate::term_hash`])
//! to feature index, in one flat open-addressing table.
//!
//! A paragraph of 300 words asks for about 1,200 terms, so this lookup is
//! on the hot path, and most of its time is waiting for memory. Each slot
//! is one `u64` holding the hash's low bits and the feature index, so a
//! lookup usually reads one cache line and the table for 30,000 terms
//! takes 512 KiB (a `HashMap<u64, u32>` takes twice that plus its control
//! bytes, and pushes jieba's dictionary out of the cache while it works).
//!
//! A slot packs `hash << index_bits | (index + 1)`; 0 is an empty slot.
//! The slot a hash starts probing at comes from its high bits and the
//! stored tag keeps the low `64 - index_bits` bits, so two hashes are
//! taken for the same term only when (nearly) all 64 bits agree.

/// Term hash to feature index.
#[derive(Debug, Clone)]
pub struct TermTable {
    slots: Box<[u64]>,
    /// `64 - log2(slots.len())`: the hash's high bits pick the first slot.
    shift: u32,
    /// Low bits of a slot holding `index + 1`.
    index_bits: u32,
    len: usize,
    /// Entries left out because an earlier one had the same tag.
    duplicates: usize,
}

impl TermTable {
    /// A table of `(hash, index)` entries. An entry whose hash agrees with
    /// an earlier one's in the bits the table keeps is left out and
    /// counted ([`Self::duplicates`]).
    pub fn new(entries: impl ExactSizeIterator<Item = (u64, u32)>) -> Self {
        let n = entries.len();
        // At most half full: a missing term then costs about two probes.
        let size = (2 * n).next_power_of_two().max(16);
        let mut entries: Vec<(u64, u32)> = entries.collect();
        let max_index = entries.iter().map(|&(_, i)| i).max().unwrap_or(0);
        let mut table = Self {
            slots: vec![0; size].into_boxed_slice(),
            shift: 64 - size.trailing_zeros(),
            // Room for `max_index + 1`.
            index_bits: 32 - (max_index + 1).leading_zeros(),
            len: 0,
            duplicates: 0,
        };
        // Insert in a fixed order, so which of two colliding entries wins
        // does not depend on the caller's (hash map) order.
        entries.sort_unstable_by_key(|&(_, i)| i);
        for (hash, index) in entries {
            table.insert(hash, index);
        }
        table
    }

    fn tag(&self, hash: u64) -> u64 {
        hash << self.index_bits
    }

    fn low_mask(&self) -> u64 {
        (1u64 << self.index_bits) - 1
    }

    fn first_slot(&self, hash: u64) -> usize {
        (hash >> self.shift) as usize
    }

    /// The slot holding `hash`'s tag (`Ok`), or the empty slot where it
    /// would go (`Err`).
    #[inline]
    fn find_slot(&self, hash: u64) -> Result<usize, usize> {
        let tag = self.tag(hash);
        let low = self.low_mask();
        let mask = self.slots.len() - 1;
        let mut i = self.first_slot(hash);
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                return Err(i);
            }
            if slot & !low == tag {
                return Ok(i);
            }
            i = (i + 1) & mask;
        }
    }

    fn insert(&mut self, hash: u64, index: u32) {
        match self.find_slot(hash) {
            Ok(_) => self.duplicates += 1,
            Err(i) => {
                self.slots[i] = self.tag(hash) | (u64::from(index) + 1);
                self.len += 1;
            }
        }
    }

    /// The feature index of the term with this hash.
    #[inline]
    pub fn get(&self, hash: u64) -> Option<u32> {
        let i = self.find_slot(hash).ok()?;
        Some((self.slots[i] & self.low_mask()) as u32 - 1)
    }

    /// Asks the CPU to start loading the slot `hash` probes first, so that
    /// a later [`Self::get`] of it does not wait for memory: a run of
    /// lookups prefetched a few ahead overlaps their cache misses.
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        crate::prefetch::prefetch(&self.slots[self.first_slot(hash)]);
    }

    /// Entries in the table.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Entries left out because their hash agreed with an earlier one's.
    pub fn duplicates(&self) -> usize {
        self.duplicates
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A splitmix64 stream: well-spread hashes without a dependency.
    fn hashes(seed: u64, n: usize) -> Vec<u64> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = x;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                z ^ (z >> 31)
            })
            .collect()
    }

    #[test]
    fn finds_every_entry_and_nothing_else() {
        for n in [0, 1, 7, 1_000, 30_000, 70_000] {
            let keys = hashes(n as u64, n);
            let table = TermTable::new(keys.iter().enumerate().map(|(i, &h)| (h, i as u32)));
            assert_eq!((table.len(), table.duplicates()), (n, 0));
            for (i, &h) in keys.iter().enumerate() {
                assert_eq!(table.get(h), Some(i as u32), "n = {n}");
            }
            for h in hashes(u64::MAX - n as u64, 10_000) {
                assert_eq!(table.get(h), None, "n = {n}");
            }
        }
    }

    #[test]
    fn hashes_differing_only_in_low_bits_or_zero_are_told_apart() {
        // Same high bits (so the same first slot), different low bits; and
        // a hash of 0.
        let keys = [0u64, 1, 2, 1 << 40, u64::MAX, u64::MAX - 1];
        let table = TermTable::new(keys.iter().enumerate().map(|(i, &h)| (h, i as u32)));
        for (i, &h) in keys.iter().enumerate() {
            assert_eq!(table.get(h), Some(i as u32));
        }
        assert_eq!(table.get(3), None);
    }

    #[test]
    fn a_repeated_hash_keeps_the_lowest_index_and_is_counted() {
        let table = TermTable::new([(42u64, 5u32), (42, 2), (7, 1)].into_iter());
        assert_eq!(table.get(42), Some(2));
        assert_eq!((table.len(), table.duplicates()), (2, 1));
    }
}
