//! Huge pages for the process's biggest table.
//!
//! Cutting a paragraph into words walks jieba's dictionary trie, one
//! block of 16 MB, at a random place for nearly every character. With
//! 4 KiB pages that is a TLB miss each time (the CPU's TLB covers a few
//! MB). Linux backs a 2 MiB aligned range with one huge page when the
//! range is advised (`MADV_HUGEPAGE`; transparent huge pages are in
//! `madvise` mode by default), so the walk stops missing.
//!
//! [`HugePageAllocator`] is the `fgf` binary's global allocator: a block of
//! [`HUGE_BLOCK_MIN`] bytes or more gets its own anonymous mapping, aligned
//! to 2 MiB and advised before its first touch; everything else goes to
//! the system allocator untouched. At start-up the trie is the only such
//! block; later, only a very large document's buffers are. Elsewhere than
//! Linux it is the system allocator.
//!
//! Measured (`bench/RESULTS.md`): about 5% less time per document.

use std::alloc::{GlobalAlloc, Layout, System};

/// The size (and alignment) of a huge page on x86-64 and most aarch64
/// kernels.
pub const HUGE_PAGE: usize = 2 << 20;

/// Blocks at least this large are mapped on their own, advised for huge
/// pages. Smaller blocks are often touched only in part, and a huge page
/// makes all of its 2 MiB resident: from 8 MiB, two more of jieba's
/// tables (10.9 and 8 MB, 6 MB of each touched) took 2-5 MB more RSS; from
/// 2 MiB, 5 MB more. Neither was measurably faster than the trie alone.
pub const HUGE_BLOCK_MIN: usize = 12 << 20;

/// The system allocator, with huge pages for blocks of [`HUGE_BLOCK_MIN`]
/// bytes or more (see the module documentation).
#[derive(Debug, Default, Clone, Copy)]
pub struct HugePageAllocator;

/// Whether a block of this layout is mapped on its own. `alloc` and
/// `dealloc` see the same layout, so they always agree.
fn is_huge(layout: Layout) -> bool {
    cfg!(target_os = "linux") && layout.size() >= HUGE_BLOCK_MIN && layout.align() <= HUGE_PAGE
}

// SAFETY: small blocks are the system allocator's, with its contract; huge
// ones are whole mappings of at least `layout.size()` bytes, aligned to
// 2 MiB (so to `layout.align()`, which `is_huge` bounds), zeroed by the
// kernel, and unmapped only by `dealloc` with the size they were mapped
// with.
unsafe impl GlobalAlloc for HugePageAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_huge(layout) {
            map_huge(layout.size())
        } else {
            // SAFETY: the caller's contract is System's.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_huge(layout) {
            // A fresh anonymous mapping reads as zeros.
            map_huge(layout.size())
        } else {
            // SAFETY: the caller's contract is System's.
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_huge(layout) {
            // SAFETY: `ptr` came from `map_huge(layout.size())`.
            unsafe { unmap_huge(ptr, layout.size()) }
        } else {
            // SAFETY: the caller's contract is System's.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` rounded to the alignment
        // does not overflow, so this layout is valid.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if !is_huge(layout) && !is_huge(new_layout) {
            // SAFETY: the caller's contract is System's.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // Into, out of or between mappings: a new block and a copy (a
        // growing table is copied a few times while it is built, once).
        // SAFETY: `new_layout` has a non-zero size (it or `layout` is huge,
        // and the caller guarantees `new_size > 0`).
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are valid for the smaller size and are
            // distinct allocations; the old one is freed with its layout.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

/// Bytes a mapping of `size` takes: whole 4 KiB pages.
#[cfg(target_os = "linux")]
fn mapped_len(size: usize) -> Option<usize> {
    size.checked_next_multiple_of(4096)
}

/// A fresh mapping of `size` bytes, 2 MiB aligned and advised for huge
/// pages; null if the kernel refuses it.
#[cfg(target_os = "linux")]
fn map_huge(size: usize) -> *mut u8 {
    let Some(len) = mapped_len(size) else {
        return std::ptr::null_mut();
    };
    let Some(reserve) = len.checked_add(HUGE_PAGE) else {
        return std::ptr::null_mut();
    };
    // SAFETY: an anonymous private mapping at an address the kernel picks
    // touches no existing memory.
    let raw = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            reserve,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if raw == libc::MAP_FAILED {
        return std::ptr::null_mut();
    }
    let start = raw as usize;
    let aligned = start.next_multiple_of(HUGE_PAGE);
    let (head, tail) = (aligned - start, reserve - (aligned - start) - len);
    // SAFETY: the head and tail are parts of the mapping just made that
    // nothing else has seen; `aligned..aligned + len` stays mapped. A
    // failed advice only leaves 4 KiB pages.
    unsafe {
        if head > 0 {
            libc::munmap(raw, head);
        }
        if tail > 0 {
            libc::munmap((aligned + len) as *mut libc::c_void, tail);
        }
        libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
    }
    aligned as *mut u8
}

/// Unmaps what [`map_huge`] mapped.
///
/// # Safety
/// `ptr` is a live block `map_huge(size)` returned.
#[cfg(target_os = "linux")]
unsafe fn unmap_huge(ptr: *mut u8, size: usize) {
    if let Some(len) = mapped_len(size) {
        // SAFETY: the caller's contract: exactly the pages `map_huge` kept.
        unsafe { libc::munmap(ptr.cast(), len) };
    }
}

#[cfg(not(target_os = "linux"))]
fn map_huge(_size: usize) -> *mut u8 {
    unreachable!("is_huge is false off Linux")
}

#[cfg(not(target_os = "linux"))]
unsafe fn unmap_huge(_ptr: *mut u8, _size: usize) {
    unreachable!("is_huge is false off Linux")
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The `VmFlags` line of the mapping that holds `addr`, from
    /// `/proc/self/smaps`.
    fn vm_flags_at(addr: usize) -> String {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut inside = false;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ')
                && let Some((a, b)) = range.split_once('-')
                && let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
            {
                inside = (a..b).contains(&addr);
            } else if inside && let Some(flags) = line.strip_prefix("VmFlags:") {
                return flags.trim().to_string();
            }
        }
        panic!("no mapping holds {addr:#x}");
    }

    #[test]
    fn a_big_block_is_aligned_zeroed_and_advised() {
        let a = HugePageAllocator;
        let layout = Layout::from_size_align(HUGE_BLOCK_MIN + 100, 8).unwrap();
        unsafe {
            let p = a.alloc_zeroed(layout);
            assert!(!p.is_null());
            assert_eq!(p as usize % HUGE_PAGE, 0);
            let block = std::slice::from_raw_parts_mut(p, layout.size());
            assert!(block.iter().all(|&b| b == 0));
            block.fill(7);
            let flags = vm_flags_at(p as usize);
            assert!(flags.split(' ').any(|f| f == "hg"), "flags: {flags}");
            a.dealloc(p, layout);
        }
    }

    #[test]
    fn a_small_block_is_the_system_allocators() {
        let a = HugePageAllocator;
        let layout = Layout::from_size_align(HUGE_BLOCK_MIN - 1, 8).unwrap();
        unsafe {
            let p = a.alloc(layout);
            assert!(!p.is_null());
            let flags = vm_flags_at(p as usize);
            assert!(!flags.split(' ').any(|f| f == "hg"), "flags: {flags}");
            a.dealloc(p, layout);
        }
    }

    #[test]
    fn realloc_keeps_the_bytes_across_the_threshold() {
        let a = HugePageAllocator;
        let sizes = [
            1000,
            HUGE_BLOCK_MIN - 8,
            HUGE_BLOCK_MIN * 2,
            HUGE_BLOCK_MIN + 4096,
            500,
        ];
        unsafe {
            let mut layout = Layout::from_size_align(sizes[0], 8).unwrap();
            let mut p = a.alloc(layout);
            for (i, b) in std::slice::from_raw_parts_mut(p, sizes[0])
                .iter_mut()
                .enumerate()
            {
                *b = (i % 251) as u8;
            }
            let mut valid = sizes[0];
            for &size in &sizes[1..] {
                p = a.realloc(p, layout, size);
                assert!(!p.is_null());
                let kept = valid.min(size);
                let bytes = std::slice::from_raw_parts(p, kept);
                assert!(bytes.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
                // Fill the rest, so every later size has known bytes.
                for (i, b) in std::slice::from_raw_parts_mut(p, size)
                    .iter_mut()
                    .enumerate()
                {
                    *b = (i % 251) as u8;
                }
                layout = Layout::from_size_align(size, 8).unwrap();
                valid = size;
            }
            a.dealloc(p, layout);
        }
    }
}
