//! fgf-extract: documents as people have them, turned into the text the
//! tagger reads: plain text in any common encoding ([`text`]), HTML pages
//! ([`html`]), Word `.docx` files ([`docx`]) and PDFs with a text layer
//! ([`pdf`]), each keeping the structure (lines, paragraphs, page breaks)
//! the segmenter needs.
//!
//! No server and no model here: bytes in, text (or an error a person can
//! act on) out.

pub mod docx;
pub mod fuzzing;
pub mod html;
pub mod pdf;
pub mod sample_pdf;
pub mod text;

/// The encodings [`decode_text`] reads ([`encoding_rs`]).
pub use encoding_rs::Encoding;
pub use html::{html_to_text, looks_like_html};
pub use text::{DecodedText, Detection, TextError, decode_text, encoding_for_label};

/// What a document was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Html,
    Docx,
    Pdf,
}

/// Why a file's bytes give no text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtractError {
    Text(TextError),
    Docx(docx::DocxError),
    Pdf(pdf::PdfError),
}

impl std::fmt::Display for ExtractError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExtractError::Text(e) => e.fmt(f),
            ExtractError::Docx(e) => e.fmt(f),
            ExtractError::Pdf(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ExtractError {}

impl From<TextError> for ExtractError {
    fn from(e: TextError) -> Self {
        ExtractError::Text(e)
    }
}

impl From<docx::DocxError> for ExtractError {
    fn from(e: docx::DocxError) -> Self {
        ExtractError::Docx(e)
    }
}

impl From<pdf::PdfError> for ExtractError {
    fn from(e: pdf::PdfError) -> Self {
        ExtractError::Pdf(e)
    }
}

/// A document's text and how it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    pub text: String,
    pub format: Format,
    /// The encoding its bytes were read in.
    pub encoding: &'static str,
}

/// The text of a file's bytes: a PDF (by `name` or its first bytes)
/// through [`pdf::pdf_to_text`]; a Word `.docx` (a zip, by `name` or by its
/// first bytes) through [`docx::docx_to_text`]; an old `.doc`/`.wps`
/// refused; anything else decoded ([`decode_text`], in `encoding` when
/// given), then, for a page (`.html`/`.htm`/`.xhtml` by `name`, or text
/// that starts like HTML), its text ([`html_to_text`]).
pub fn extract(
    bytes: &[u8],
    name: Option<&str>,
    encoding: Option<&'static Encoding>,
) -> Result<Extracted, ExtractError> {
    let ends_with = |exts: &[&str]| {
        name.is_some_and(|n| {
            let n = n.to_ascii_lowercase();
            exts.iter().any(|e| n.ends_with(e))
        })
    };
    if docx::is_ole(bytes) {
        return Err(docx::DocxError::OldBinary.into());
    }
    if ends_with(&[".pdf"]) || bytes.starts_with(b"%PDF-") {
        return Ok(Extracted {
            text: pdf::pdf_to_text(bytes)?,
            format: Format::Pdf,
            encoding: "UTF-8",
        });
    }
    if ends_with(&[".docx"]) || docx::is_zip(bytes) {
        return Ok(Extracted {
            text: docx::docx_to_text(bytes)?,
            format: Format::Docx,
            encoding: "UTF-8",
        });
    }
    let decoded = decode_text(bytes, encoding)?;
    let by_name = ends_with(&[".html", ".htm", ".xhtml"]);
    if by_name || looks_like_html(&decoded.text) {
        return Ok(Extracted {
            text: html_to_text(&decoded.text),
            format: Format::Html,
            encoding: decoded.encoding,
        });
    }
    Ok(Extracted {
        text: decoded.text,
        format: Format::Text,
        encoding: decoded.encoding,
    })
}
