//! How the process's heap gives memory back to the operating system.
//!
//! glibc malloc serves a request of 128 KiB or more with its own `mmap`,
//! which goes back to the OS on free. But it also *raises* that threshold to
//! the size of every such block that is freed (up to 32 MiB). After one
//! 4 MB document, the server's multi-megabyte request, text and response
//! buffers all came from the per-thread arenas instead, and arenas keep
//! what they grew: under `fgf soak` RSS drifted up to 20% above its
//! warmed-up level and peaked at 130-150 MB. Fixing the threshold turns the
//! adjustment off, so big buffers always come and go with `mmap` (measured
//! over a 2-minute soak: peak 83 MB, RSS after 58.0 MB against 58.9 MB
//! before).
//!
//! On other platforms (musl, macOS) [`return_large_blocks_to_the_os`] does
//! nothing.

/// Requests at least this large get their own mapping, returned on free.
pub const MMAP_THRESHOLD_BYTES: usize = 256 * 1024;

/// Makes malloc map every block of [`MMAP_THRESHOLD_BYTES`] or more on its
/// own, for good. Call it once, first thing in `main`. Returns whether the
/// allocator took the setting (false where there is nothing to set).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn return_large_blocks_to_the_os() -> bool {
    // SAFETY: mallopt only changes the allocator's own parameters; the
    // value is in the range glibc accepts (at most HEAP_MAX_SIZE / 2).
    unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES as libc::c_int) == 1 }
}

/// Makes malloc map large blocks on their own (nothing to set here).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn return_large_blocks_to_the_os() -> bool {
    false
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    #[test]
    fn glibc_takes_the_threshold() {
        assert!(return_large_blocks_to_the_os());
    }
}
