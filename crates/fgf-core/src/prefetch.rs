//! Prefetch hints: asking the CPU to start loading memory that a loop will
//! read a few steps later.
//!
//! Tagging reads two tables far bigger than the nearest caches at places
//! only the text decides: the vocabulary ([`crate::term_table`]) once per
//! term and the weight matrix once per feature of a vector. Loaded one
//! after another, each read waits for memory in turn; hinted a few steps
//! ahead, the waits overlap. A hint never changes what is computed.

/// Hints the cache line holding `x` (nothing on targets without a hint).
#[inline(always)]
pub(crate) fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch only hints the cache: it does not read through the
    // pointer into the program and cannot fault, and the pointer comes from
    // a live reference anyway. SSE is part of every x86_64 target.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>((x as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// Hints every cache line of a short slice (a weight row: 22 floats span
/// two or three lines).
#[inline(always)]
pub(crate) fn prefetch_slice<T>(s: &[T]) {
    const LINE: usize = 64;
    let step = (LINE / std::mem::size_of::<T>().max(1)).max(1);
    for x in s.iter().step_by(step) {
        prefetch(x);
    }
    if let Some(last) = s.last() {
        prefetch(last);
    }
}

/// Calls `each` on every item in order, having called `hint` on the item
/// `ahead` places further on: the loop of a lookup table, with its memory
/// requested early enough to overlap.
#[inline(always)]
pub(crate) fn each_hinted_ahead<T>(
    items: &[T],
    ahead: usize,
    hint: impl Fn(&T),
    mut each: impl FnMut(&T),
) {
    for x in items.iter().take(ahead) {
        hint(x);
    }
    for (i, x) in items.iter().enumerate() {
        if let Some(later) = items.get(i + ahead) {
            hint(later);
        }
        each(x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_is_hinted_once_before_its_turn_and_visited_in_order() {
        for n in [0, 1, 5, 16, 40] {
            let items: Vec<usize> = (0..n).collect();
            let hinted = std::cell::RefCell::new(Vec::new());
            let mut visited = Vec::new();
            each_hinted_ahead(
                &items,
                8,
                |&x| hinted.borrow_mut().push(x),
                |&x| {
                    assert!(hinted.borrow().contains(&x), "{x} visited before its hint");
                    visited.push(x);
                },
            );
            assert_eq!(visited, items);
            assert_eq!(hinted.into_inner(), items);
        }
    }
}
