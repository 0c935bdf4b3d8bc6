//! The entry point of the `extract` fuzz target and its regression test
//! (`tests/it/fuzz_regressions.rs`): any bytes, read as a page and as a
//! text file; extraction may refuse them but must not panic, and what it
//! returns is text a person can read (no NUL, no replacement of a byte it
//! could not read).

/// Extracts `data` both as an `.html` file and as a file of unknown kind.
pub fn extract(data: &[u8]) {
    for name in [Some("page.html"), Some("file.docx"), None] {
        if let Ok(extracted) = crate::extract(data, name, None) {
            assert!(
                !extracted.text.contains('\u{fffd}')
                    || String::from_utf8_lossy(data).contains('\u{fffd}'),
                "a replacement char appeared that the input did not have"
            );
        }
    }
}
