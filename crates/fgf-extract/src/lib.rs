//! fgf-extract: documents as people have them, turned into the text the
//! tagger reads. Today: plain text in any common encoding ([`text`]) and
//! HTML pages ([`html`]); DOCX and PDF come here too, each keeping the
//! structure (lines, paragraphs, page breaks) the segmenter needs.
//!
//! No server and no model here: bytes in, text (or an error a person can
//! act on) out.

pub mod fuzzing;
pub mod html;
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
}

/// A document's text and how it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    pub text: String,
    pub format: Format,
    /// The encoding its bytes were read in.
    pub encoding: &'static str,
}

/// The text of a file's bytes: decoded ([`decode_text`], in `encoding`
/// when given), then, for a page (`.html`/`.htm`/`.xhtml` by `name`, or
/// text that starts like HTML), its text ([`html_to_text`]).
pub fn extract(
    bytes: &[u8],
    name: Option<&str>,
    encoding: Option<&'static Encoding>,
) -> Result<Extracted, TextError> {
    let decoded = decode_text(bytes, encoding)?;
    let by_name = name.is_some_and(|n| {
        let n = n.to_ascii_lowercase();
        [".html", ".htm", ".xhtml"].iter().any(|e| n.ends_with(e))
    });
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
