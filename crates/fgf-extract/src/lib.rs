//! fgf-extract: documents as people have them, turned into the text the
//! tagger reads. Today: plain text in any common encoding ([`text`]); the
//! formats of issue 18 (HTML, DOCX, PDF) come here too, each keeping the
//! structure (lines, paragraphs, page breaks) the segmenter needs.
//!
//! No server and no model here: bytes in, text (or an error a person can
//! act on) out.

pub mod text;

/// The encodings [`decode_text`] reads ([`encoding_rs`]).
pub use encoding_rs::Encoding;
pub use text::{DecodedText, Detection, TextError, decode_text, encoding_for_label};
