//! The entry points of the `extract` and `pdf` fuzz targets and their
//! regression tests (`tests/it/fuzz_regressions.rs`): any bytes, read as a
//! page, a Word file, a PDF and a text file; extraction may refuse them but
//! must not panic or hang, and the text it returns from a page or a text
//! file has no replacement for a byte it could not read (a PDF's may: a
//! glyph its font does not map).

/// Extracts `data` both as an `.html` file and as a file of unknown kind.
pub fn extract(data: &[u8]) {
    for name in [Some("page.html"), Some("file.docx"), None] {
        if let Ok(extracted) = crate::extract(data, name, None)
            && extracted.format != crate::Format::Pdf
        {
            assert!(
                !extracted.text.contains('\u{fffd}')
                    || String::from_utf8_lossy(data).contains('\u{fffd}'),
                "a replacement char appeared that the input did not have"
            );
        }
    }
}

/// `data` as a PDF, and written over a small sample PDF (uncompressed, so
/// the change reaches the content operators) at the offset its first two
/// bytes choose: random bytes are rarely a PDF, a damaged one often is.
pub fn pdf(data: &[u8]) {
    use std::sync::OnceLock;
    static SAMPLE: OnceLock<Vec<u8>> = OnceLock::new();
    let _ = crate::pdf::pdf_to_text(data);
    let Some((&[a, b], body)) = data.split_first_chunk::<2>() else {
        return;
    };
    let mut sample = SAMPLE
        .get_or_init(|| {
            let mut pdf = crate::sample_pdf::SamplePdf::new([
                "关于推行涉企审批告知承诺制的通知",
                "各部门：对具备条件的审批事项实行告知承诺制，申请人书面承诺后当场办结。",
            ]);
            pdf.compressed = false;
            pdf.lines_per_page = 2;
            pdf.header = Some("城北区人民政府".into());
            pdf.to_bytes()
        })
        .clone();
    let at = usize::from(u16::from_le_bytes([a, b])) % sample.len();
    let end = (at + body.len()).min(sample.len());
    sample[at..end].copy_from_slice(&body[..end - at]);
    let _ = crate::pdf::pdf_to_text(&sample);
}
