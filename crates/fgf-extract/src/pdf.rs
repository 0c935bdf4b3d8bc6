//! PDF files with a text layer to text: one line per paragraph where the
//! page geometry shows it, else per printed line, pages separated by a
//! form feed (`"\n\u{c}"`, as pdftotext writes them), so the segmenter's
//! reflow joins what is left of a paragraph (also across a page break) and
//! its page-furniture rules find running headers and page numbers beside
//! the page breaks.
//!
//! [`lopdf`] parses the file (cross-reference tables and streams, object
//! streams, filters, the standard security handler for files that open
//! without a password, `/ToUnicode` maps); this module runs each page's
//! content stream, and the forms it draws, through a small text-state
//! machine:
//! - text is placed where the text and graphics matrices put it (`Tm`,
//!   `Td`, `TD`, `T*`, `cm`, `q`/`Q`, form matrices); advances come from
//!   the fonts' widths (`/W`, `/Widths`; estimated when a font gives none)
//!   with char and word spacing and horizontal scaling;
//! - a show that lands on the line being built (same baseline within half
//!   the font size, right of its start) extends it, with a space where
//!   more than half a character was left between Latin letters and a tab
//!   where more than 1.5 characters were (table columns, tab stops);
//!   anything else starts a new line;
//! - a printed line filled to the right edge runs on into the line below
//!   when that one starts at the left margin. On a page without first-line
//!   indents a line that ends a sentence stays a line of its own (its
//!   paragraph may end there), and table rows are never joined;
//! - a line that starts 1.5 characters or more right of the page's left
//!   edge gets two ideographic spaces, the first-line indent of a Chinese
//!   paragraph, which the reflow reads as a paragraph start;
//! - a vertical gap of more than 2.2 font sizes leaves a blank line;
//! - characters come from the font's `/ToUnicode` map or its encoding; the
//!   predefined Chinese CMaps without one (`UniGB-UCS2-H`, `GBK-EUC-H`,
//!   `B5pc-H`, ...) are read as UTF-16, GBK or Big5.
//!
//! Limits, checked before and while reading: at most [`MAX_PAGES`] pages,
//! [`MAX_CONTENT_BYTES`] of decompressed content in the whole file and
//! [`MAX_OPERATIONS`] content operators, forms nested at most
//! [`MAX_FORM_DEPTH`] deep. A file that needs a password, has no text
//! (a scan) or draws text in fonts that do not say which characters they
//! are gets a [`PdfError`] saying so and what to do.

use std::collections::HashMap;

use lopdf::content::{Content, Operation};
use lopdf::{Dictionary, Document, Encoding, Object, ObjectId};

/// Most pages read: 2,000 (a long report has a few hundred).
pub const MAX_PAGES: usize = 2_000;
/// Most decompressed content read in one file, page and form content and
/// each object stream alike: 64 MiB.
pub const MAX_CONTENT_BYTES: usize = 64 * 1024 * 1024;
/// Most content operators run in one file: 4 million (a dense page has a
/// few thousand).
pub const MAX_OPERATIONS: usize = 4_000_000;
/// Deepest nesting of forms drawn inside forms.
pub const MAX_FORM_DEPTH: usize = 8;
/// Deepest `q` nesting kept (deeper saves are counted, not stored).
const MAX_SAVED_STATES: usize = 64;

/// Why a PDF gives no text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PdfError {
    /// Not a PDF, or one too damaged to read.
    Unreadable(String),
    /// Opening it needs a password.
    Encrypted,
    /// More pages than [`MAX_PAGES`].
    TooManyPages(usize),
    /// More content than [`MAX_CONTENT_BYTES`] or [`MAX_OPERATIONS`].
    TooMuchContent,
    /// Pages with no text on them: a scan, or drawings only.
    NoTextLayer { pages: usize },
    /// Text drawn in fonts with no map back to characters.
    NoUnicode,
}

impl std::fmt::Display for PdfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PdfError::Unreadable(why) => write!(
                f,
                "the PDF file cannot be read ({why}): check that the whole file was sent, or send \
                 its text"
            ),
            PdfError::Encrypted => write!(
                f,
                "the PDF is protected by a password: save or print it again without the \
                 password, or send its text"
            ),
            PdfError::TooManyPages(n) => write!(
                f,
                "the PDF has {n} pages, more than the {MAX_PAGES} read: split it"
            ),
            PdfError::TooMuchContent => write!(
                f,
                "the PDF's pages hold more than {} MiB of content once decompressed, or more \
                 than {MAX_OPERATIONS} drawing operations: split it, or send its text",
                MAX_CONTENT_BYTES / (1024 * 1024)
            ),
            PdfError::NoTextLayer { pages } => write!(
                f,
                "the PDF's {pages} page(s) hold no text, only images or drawings (a scan?): run \
                 OCR on it first, or send its text"
            ),
            PdfError::NoUnicode => write!(
                f,
                "the PDF's text is drawn in fonts that do not say which characters they show \
                 (no /ToUnicode map), so it cannot be read: export it again with Unicode fonts \
                 embedded, or send its text"
            ),
        }
    }
}

impl std::error::Error for PdfError {}

/// True when the first KiB holds the `%PDF-` header (readers allow junk
/// before it).
pub fn is_pdf(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(1024)]
        .windows(5)
        .any(|w| w == b"%PDF-")
}

/// The text of a PDF file.
pub fn pdf_to_text(bytes: &[u8]) -> Result<String, PdfError> {
    if !is_pdf(bytes) {
        return Err(PdfError::Unreadable("no %PDF- header".into()));
    }
    let options = lopdf::LoadOptions {
        max_decompressed_size: Some(MAX_CONTENT_BYTES),
        ..Default::default()
    };
    let doc = Document::load_mem_with_options(bytes, options).map_err(|e| match e {
        lopdf::Error::InvalidPassword | lopdf::Error::Decryption(_) => PdfError::Encrypted,
        lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. }) => {
            PdfError::TooMuchContent
        }
        e => PdfError::Unreadable(e.to_string()),
    })?;
    // Opened without the empty password: the strings and streams are
    // still ciphertext.
    if doc.is_encrypted() && !doc.was_encrypted() {
        return Err(PdfError::Encrypted);
    }
    let pages = doc.get_pages();
    if pages.len() > MAX_PAGES {
        return Err(PdfError::TooManyPages(pages.len()));
    }
    if pages.is_empty() {
        return Err(PdfError::Unreadable("no pages".into()));
    }
    let mut reader = Reader::new(&doc);
    let mut out = String::new();
    for (i, &page_id) in pages.values().enumerate() {
        if i > 0 {
            out.push_str("\n\u{c}");
        }
        let lines = reader.page(page_id)?;
        lines.write_to(&mut out);
    }
    if reader.chars == 0 {
        return Err(if reader.undecodable > 0 {
            PdfError::NoUnicode
        } else if reader.damaged_pages == pages.len() {
            PdfError::Unreadable("no page's content can be read".into())
        } else {
            PdfError::NoTextLayer { pages: pages.len() }
        });
    }
    // Mostly U+FFFD: codes the font's map does not cover.
    if reader.replacement * 2 > reader.chars {
        return Err(PdfError::NoUnicode);
    }
    out.push('\n');
    Ok(out)
}

/// A PDF matrix `[a b c d e f]` (row vector convention: `p' = p × M`).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Matrix([f32; 6]);

impl Matrix {
    const IDENTITY: Matrix = Matrix([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);

    fn translate(x: f32, y: f32) -> Matrix {
        Matrix([1.0, 0.0, 0.0, 1.0, x, y])
    }

    /// `self × other`: first `self`, then `other`.
    fn then(self, other: Matrix) -> Matrix {
        let [a, b, c, d, e, f] = self.0;
        let [a2, b2, c2, d2, e2, f2] = other.0;
        Matrix([
            a * a2 + b * c2,
            a * b2 + b * d2,
            c * a2 + d * c2,
            c * b2 + d * d2,
            e * a2 + f * c2 + e2,
            e * b2 + f * d2 + f2,
        ])
    }

    /// Where the origin lands.
    fn origin(self) -> (f32, f32) {
        (self.0[4], self.0[5])
    }

    fn from_operands(ops: &[Object]) -> Option<Matrix> {
        let n: Vec<f32> = ops.iter().filter_map(|o| o.as_float().ok()).collect();
        let m: [f32; 6] = n.try_into().ok()?;
        m.iter().all(|v| v.is_finite()).then_some(Matrix(m))
    }
}

/// How a font's string bytes become chars.
enum FontDecoder<'d> {
    /// lopdf's reading of `/ToUnicode` or a simple font's encoding.
    Mapped(Encoding<'d>),
    /// A predefined CMap whose codes are UTF-16BE (`UniGB-UCS2-H`, ...).
    Utf16,
    /// A predefined CMap whose codes are a legacy encoding's bytes.
    Legacy(&'static encoding_rs::Encoding),
    /// No way back to chars (`Identity-H` without `/ToUnicode`).
    Unknown,
}

impl<'d> FontDecoder<'d> {
    fn new(doc: &'d Document, font: &'d Dictionary) -> Result<Self, PdfError> {
        let subtype = font
            .get(b"Subtype")
            .and_then(Object::as_name)
            .unwrap_or(b"");
        let has_to_unicode = font.get(b"ToUnicode").is_ok();
        if subtype == b"Type0" {
            let cmap = font
                .get(b"Encoding")
                .and_then(Object::as_name)
                .unwrap_or(b"");
            if let Some(decoder) = Self::predefined(cmap) {
                return Ok(decoder);
            }
            if !has_to_unicode {
                return Ok(FontDecoder::Unknown);
            }
        }
        match font.get_font_encoding_with_limit(doc, MAX_CONTENT_BYTES) {
            Ok(Encoding::SimpleEncoding(_)) => Ok(FontDecoder::Unknown),
            Ok(e) => Ok(FontDecoder::Mapped(e)),
            Err(lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded {
                ..
            })) => Err(PdfError::TooMuchContent),
            Err(_) => Ok(FontDecoder::Unknown),
        }
    }

    /// The predefined Chinese CMaps whose codes are text in a known
    /// encoding.
    fn predefined(cmap: &[u8]) -> Option<Self> {
        let name = std::str::from_utf8(cmap).ok()?;
        if name.starts_with("Uni") && (name.contains("UCS2") || name.contains("UTF16")) {
            return Some(FontDecoder::Utf16);
        }
        let gb = ["GBK-EUC-", "GBpc-EUC-", "GBK2K-", "GBKp-EUC-", "GB-EUC-"];
        if gb.iter().any(|p| name.starts_with(p)) {
            return Some(FontDecoder::Legacy(encoding_rs::GB18030));
        }
        let big5 = ["B5pc-", "ETen-B5-", "HKscs-B5-", "ETenms-B5-"];
        if big5.iter().any(|p| name.starts_with(p)) {
            return Some(FontDecoder::Legacy(encoding_rs::BIG5));
        }
        None
    }

    /// The chars of a shown string, or `None` when the font cannot say.
    fn decode(&self, bytes: &[u8]) -> Option<String> {
        match self {
            FontDecoder::Mapped(e) => e.bytes_to_string(bytes).ok(),
            FontDecoder::Utf16 => Some(
                encoding_rs::UTF_16BE
                    .decode_without_bom_handling(bytes)
                    .0
                    .into_owned(),
            ),
            FontDecoder::Legacy(e) => Some(e.decode_without_bom_handling(bytes).0.into_owned()),
            FontDecoder::Unknown => None,
        }
    }
}

/// A font's glyph advances, in thousandths of an em, by code: `/W` of a
/// CID font with `Identity-H` codes (two bytes), or `/FirstChar` and
/// `/Widths` of a simple font (one byte).
struct Widths {
    code_len: usize,
    table: HashMap<u32, f32>,
    default: f32,
}

impl Widths {
    /// Most entries read from one font's table.
    const MAX_ENTRIES: usize = 65_536;

    fn new(doc: &Document, font: &Dictionary) -> Option<Widths> {
        let number = |o: &Object| {
            doc.dereference(o)
                .ok()
                .and_then(|(_, o)| o.as_float().ok())
                .filter(|v| v.is_finite())
        };
        let mut table = HashMap::new();
        let name = |key: &[u8]| font.get(key).and_then(Object::as_name).ok();
        if name(b"Subtype")? == b"Type0" {
            if !matches!(name(b"Encoding")?, b"Identity-H" | b"Identity-V") {
                return None;
            }
            let descendant = font
                .get_deref(b"DescendantFonts", doc)
                .and_then(Object::as_array)
                .ok()?
                .first()?;
            let cid_font = doc.dereference(descendant).ok()?.1.as_dict().ok()?;
            let default = cid_font.get(b"DW").ok().and_then(number).unwrap_or(1000.0);
            if let Ok(w) = cid_font.get_deref(b"W", doc).and_then(Object::as_array) {
                let mut i = 0;
                while i + 1 < w.len() && table.len() < Self::MAX_ENTRIES {
                    let Some(first) = number(&w[i]).map(|v| v.max(0.0) as u32) else {
                        break;
                    };
                    match doc.dereference(&w[i + 1]).map(|(_, o)| o) {
                        Ok(Object::Array(run)) => {
                            for (k, v) in run.iter().enumerate().take(Self::MAX_ENTRIES) {
                                if let Some(v) = number(v) {
                                    table.insert(first.saturating_add(k as u32), v);
                                }
                            }
                            i += 2;
                        }
                        _ => {
                            let (Some(last), Some(v)) =
                                (number(&w[i + 1]), w.get(i + 2).and_then(number))
                            else {
                                break;
                            };
                            let last = (last.max(0.0) as u32)
                                .min(first.saturating_add(Self::MAX_ENTRIES as u32));
                            for code in first..=last {
                                table.insert(code, v);
                            }
                            i += 3;
                        }
                    }
                }
            }
            return Some(Widths {
                code_len: 2,
                table,
                default,
            });
        }
        let first = font.get(b"FirstChar").ok().and_then(number)?.max(0.0) as u32;
        let widths = font
            .get_deref(b"Widths", doc)
            .and_then(Object::as_array)
            .ok()?;
        for (k, v) in widths.iter().enumerate().take(256) {
            if let Some(v) = number(v) {
                table.insert(first.saturating_add(k as u32), v);
            }
        }
        let default = font
            .get_deref(b"FontDescriptor", doc)
            .and_then(Object::as_dict)
            .ok()
            .and_then(|d| d.get(b"MissingWidth").ok().and_then(number))
            .unwrap_or(500.0);
        Some(Widths {
            code_len: 1,
            table,
            default,
        })
    }

    /// The advance of `bytes` in text space (PDF 9.4.4: each glyph's width
    /// times the size, plus char spacing, plus word spacing after a
    /// one-byte space, all scaled horizontally).
    fn advance(&self, bytes: &[u8], state: &State) -> f32 {
        bytes
            .chunks(self.code_len)
            .map(|c| {
                let code = c.iter().fold(0u32, |a, &b| a << 8 | u32::from(b));
                let w = self.table.get(&code).copied().unwrap_or(self.default);
                let word = if self.code_len == 1 && code == 32 {
                    state.word_spacing
                } else {
                    0.0
                };
                (w.clamp(0.0, 10_000.0) / 1000.0 * state.size + state.char_spacing + word)
                    * state.scale
            })
            .sum()
    }
}

/// A font as this module uses it: how its codes become chars, and how far
/// they move the pen (estimated when the font does not say).
struct Font<'d> {
    decoder: FontDecoder<'d>,
    widths: Option<Widths>,
}

/// The graphics and text state that `q`/`Q` save and restore.
#[derive(Clone, Copy)]
struct State {
    ctm: Matrix,
    /// Index into [`Reader::fonts`].
    font: Option<usize>,
    size: f32,
    leading: f32,
    char_spacing: f32,
    word_spacing: f32,
    /// Horizontal scaling (`Tz` / 100).
    scale: f32,
}

/// Reads pages, keeping what is shared between them: font decoders, the
/// budget, and counts for the errors at the end.
struct Reader<'d> {
    doc: &'d Document,
    fonts: Vec<Font<'d>>,
    font_ids: HashMap<ObjectId, usize>,
    content_bytes: usize,
    operations: usize,
    /// Chars decoded, U+FFFD among them, bytes shown in fonts with no map.
    chars: usize,
    replacement: usize,
    undecodable: usize,
    damaged_pages: usize,
}

impl<'d> Reader<'d> {
    fn new(doc: &'d Document) -> Self {
        Reader {
            doc,
            fonts: Vec::new(),
            font_ids: HashMap::new(),
            content_bytes: 0,
            operations: 0,
            chars: 0,
            replacement: 0,
            undecodable: 0,
            damaged_pages: 0,
        }
    }

    fn remaining_bytes(&self) -> usize {
        MAX_CONTENT_BYTES - self.content_bytes
    }

    fn spend_bytes(&mut self, n: usize) -> Result<(), PdfError> {
        self.content_bytes += n;
        if self.content_bytes > MAX_CONTENT_BYTES {
            return Err(PdfError::TooMuchContent);
        }
        Ok(())
    }

    /// One page's lines.
    fn page(&mut self, page_id: ObjectId) -> Result<PageLines, PdfError> {
        let mut lines = PageLines::default();
        let data = match self
            .doc
            .get_page_content_with_limit(page_id, self.remaining_bytes())
        {
            Ok(d) => d,
            Err(lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded {
                ..
            })) => return Err(PdfError::TooMuchContent),
            Err(_) => {
                self.damaged_pages += 1;
                return Ok(lines);
            }
        };
        self.spend_bytes(data.len())?;
        let Ok(content) = Content::decode(&data) else {
            self.damaged_pages += 1;
            return Ok(lines);
        };
        let resources = self.page_resources(page_id);
        self.run(
            &content.operations,
            &resources,
            Matrix::IDENTITY,
            0,
            &mut lines,
        )?;
        Ok(lines)
    }

    /// A page's resource dictionaries, nearest first.
    fn page_resources(&self, page_id: ObjectId) -> Vec<&'d Dictionary> {
        let Ok((direct, ids)) = self.doc.get_page_resources(page_id) else {
            return Vec::new();
        };
        direct
            .into_iter()
            .chain(
                ids.iter()
                    .filter_map(|&id| self.doc.get_dictionary(id).ok()),
            )
            .collect()
    }

    /// `name` in the `category` (`/Font`, `/XObject`) of the first
    /// resource dictionary that has it: its object id when indirect.
    fn resource(
        &self,
        resources: &[&'d Dictionary],
        category: &[u8],
        name: &[u8],
    ) -> Option<(Option<ObjectId>, &'d Object)> {
        resources.iter().find_map(|r| {
            let group = r.get_deref(category, self.doc).ok()?.as_dict().ok()?;
            let entry = group.get(name).ok()?;
            let id = entry.as_reference().ok();
            let (_, object) = self.doc.dereference(entry).ok()?;
            Some((id, object))
        })
    }

    fn font(
        &mut self,
        resources: &[&'d Dictionary],
        name: &[u8],
    ) -> Result<Option<usize>, PdfError> {
        let Some((id, object)) = self.resource(resources, b"Font", name) else {
            return Ok(None);
        };
        if let Some(&i) = id.and_then(|id| self.font_ids.get(&id)) {
            return Ok(Some(i));
        }
        let Ok(dict) = object.as_dict() else {
            return Ok(None);
        };
        self.fonts.push(Font {
            decoder: FontDecoder::new(self.doc, dict)?,
            widths: Widths::new(self.doc, dict),
        });
        let i = self.fonts.len() - 1;
        if let Some(id) = id {
            self.font_ids.insert(id, i);
        }
        Ok(Some(i))
    }

    /// Runs content operators, adding what they show to `lines`.
    fn run(
        &mut self,
        ops: &[Operation],
        resources: &[&'d Dictionary],
        ctm: Matrix,
        depth: usize,
        lines: &mut PageLines,
    ) -> Result<(), PdfError> {
        self.operations += ops.len();
        if self.operations > MAX_OPERATIONS {
            return Err(PdfError::TooMuchContent);
        }
        let mut state = State {
            ctm,
            font: None,
            size: 0.0,
            leading: 0.0,
            char_spacing: 0.0,
            word_spacing: 0.0,
            scale: 1.0,
        };
        let mut saved: Vec<State> = Vec::new();
        let mut unsaved_depth = 0usize;
        let (mut tm, mut tlm) = (Matrix::IDENTITY, Matrix::IDENTITY);
        let num = |op: &Operation, i: usize| {
            op.operands
                .get(i)
                .and_then(|o| o.as_float().ok())
                .filter(|v| v.is_finite())
                .unwrap_or(0.0)
        };
        for op in ops {
            match op.operator.as_str() {
                "q" => {
                    if saved.len() < MAX_SAVED_STATES {
                        saved.push(state);
                    } else {
                        unsaved_depth += 1;
                    }
                }
                "Q" => {
                    if unsaved_depth > 0 {
                        unsaved_depth -= 1;
                    } else if let Some(s) = saved.pop() {
                        state = s;
                    }
                }
                "cm" => {
                    if let Some(m) = Matrix::from_operands(&op.operands) {
                        state.ctm = m.then(state.ctm);
                    }
                }
                "BT" => (tm, tlm) = (Matrix::IDENTITY, Matrix::IDENTITY),
                "Tf" => {
                    let name = op.operands.first().and_then(|o| o.as_name().ok());
                    state.font = match name {
                        Some(name) => self.font(resources, name)?,
                        None => None,
                    };
                    state.size = num(op, 1);
                }
                "TL" => state.leading = num(op, 0),
                "Tc" => state.char_spacing = num(op, 0),
                "Tw" => state.word_spacing = num(op, 0),
                "Tz" => state.scale = num(op, 0) / 100.0,
                "Td" | "TD" => {
                    let (tx, ty) = (num(op, 0), num(op, 1));
                    if op.operator == "TD" {
                        state.leading = -ty;
                    }
                    tlm = Matrix::translate(tx, ty).then(tlm);
                    tm = tlm;
                }
                "Tm" => {
                    if let Some(m) = Matrix::from_operands(&op.operands) {
                        (tm, tlm) = (m, m);
                    }
                }
                "T*" => {
                    tlm = Matrix::translate(0.0, -state.leading).then(tlm);
                    tm = tlm;
                }
                "Tj" | "TJ" | "'" | "\"" => {
                    if matches!(op.operator.as_str(), "'" | "\"") {
                        tlm = Matrix::translate(0.0, -state.leading).then(tlm);
                        tm = tlm;
                    }
                    let shown: &[Object] = match op.operator.as_str() {
                        "TJ" => op
                            .operands
                            .first()
                            .and_then(|o| o.as_array().ok())
                            .map_or(&[], |a| a.as_slice()),
                        "\"" => op.operands.get(2).map_or(&[], std::slice::from_ref),
                        _ => op.operands.first().map_or(&[], std::slice::from_ref),
                    };
                    tm = self.show(shown, &state, tm, lines);
                }
                "Do" if depth < MAX_FORM_DEPTH => {
                    if let Some(name) = op.operands.first().and_then(|o| o.as_name().ok()) {
                        self.form(resources, name, state.ctm, depth, lines)?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Draws the form XObject `name`, if it is one.
    fn form(
        &mut self,
        resources: &[&'d Dictionary],
        name: &[u8],
        ctm: Matrix,
        depth: usize,
        lines: &mut PageLines,
    ) -> Result<(), PdfError> {
        let Some((_, object)) = self.resource(resources, b"XObject", name) else {
            return Ok(());
        };
        let Ok(stream) = object.as_stream() else {
            return Ok(());
        };
        if stream.dict.get(b"Subtype").and_then(Object::as_name).ok() != Some(b"Form") {
            return Ok(());
        }
        let data = match stream.get_plain_content_with_limit(self.remaining_bytes()) {
            Ok(d) => d,
            Err(lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded {
                ..
            })) => return Err(PdfError::TooMuchContent),
            Err(_) => return Ok(()),
        };
        self.spend_bytes(data.len())?;
        let Ok(content) = Content::decode(&data) else {
            return Ok(());
        };
        let matrix = stream
            .dict
            .get(b"Matrix")
            .and_then(Object::as_array)
            .ok()
            .and_then(|a| Matrix::from_operands(a))
            .unwrap_or(Matrix::IDENTITY);
        let own: Vec<&'d Dictionary> = stream
            .dict
            .get_deref(b"Resources", self.doc)
            .and_then(Object::as_dict)
            .ok()
            .into_iter()
            .collect();
        let resources = if own.is_empty() { resources } else { &own };
        self.run(
            &content.operations,
            resources,
            matrix.then(ctm),
            depth + 1,
            lines,
        )
    }

    /// Shows strings (and a `TJ` array's kerning numbers) at `tm`; returns
    /// the text matrix after them.
    fn show(
        &mut self,
        shown: &[Object],
        state: &State,
        mut tm: Matrix,
        lines: &mut PageLines,
    ) -> Matrix {
        let Some(font) = state.font.map(|i| &self.fonts[i]) else {
            return tm;
        };
        let size = state.size;
        let mut text = String::new();
        let start = tm.then(state.ctm);
        // The advance in text space units: from the font's widths, or, when
        // it gives none, a wide char taken as 1 em and others as 1/2.
        let mut advance = 0.0f32;
        for item in shown {
            match item {
                Object::String(bytes, _) => match font.decoder.decode(bytes) {
                    Some(s) => {
                        self.replacement += s.matches('\u{FFFD}').count();
                        self.chars += s.chars().filter(|c| !c.is_whitespace()).count();
                        advance += match &font.widths {
                            Some(w) => w.advance(bytes, state),
                            None => estimated_advance(&s, size) * state.scale,
                        };
                        text.push_str(&s);
                    }
                    None => self.undecodable += bytes.len(),
                },
                Object::Integer(_) | Object::Real(_) => {
                    let k = item.as_float().unwrap_or(0.0);
                    if !k.is_finite() {
                        continue;
                    }
                    let moved = -k / 1000.0 * size * state.scale;
                    advance += moved;
                    // A wide kerning gap between Latin letters is a space.
                    if moved > size * 0.25 && text.ends_with(|c: char| c.is_ascii_alphanumeric()) {
                        text.push(' ');
                    }
                }
                _ => {}
            }
        }
        if !advance.is_finite() {
            advance = 0.0;
        }
        let after = Matrix::translate(advance, 0.0).then(tm);
        if !text.is_empty() {
            let (x, y) = start.origin();
            let (end_x, _) = after.then(state.ctm).origin();
            // The size on the page: the text matrix and CTM scale it.
            let scale = Matrix([size, 0.0, 0.0, size, 0.0, 0.0]).then(start);
            let device_size = scale.0[2].hypot(scale.0[3]).max(1.0);
            lines.add(x, y, end_x, device_size, &text);
        }
        tm = after;
        tm
    }
}

/// The advance of `s` for a font that gives no widths: a wide char 1 em,
/// others 1/2.
fn estimated_advance(s: &str, size: f32) -> f32 {
    s.chars()
        .map(|c| if is_wide(c) { size } else { size / 2.0 })
        .sum()
}

/// CJK ideographs, kana, hangul and full-width forms: one em wide.
fn is_wide(c: char) -> bool {
    matches!(c as u32, 0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD)
}

/// A line starting about two chars right of the left margin: a Chinese
/// paragraph's first-line indent (not a centred line further in).
fn is_first_line_indent(line: &PrintedLine, margin: f32) -> bool {
    let indent = (line.x - margin) / line.size;
    (1.5..2.6).contains(&indent)
}

/// Ends with sentence punctuation, closing quotes and brackets aside.
fn ends_sentence(text: &str) -> bool {
    text.trim_end()
        .trim_end_matches(['”', '’', '」', '』', '）', ')', '"', '\''])
        .ends_with(['。', '！', '？', '；', '：', '.', '!', '?', ';', ':'])
}

/// One line of print being built.
#[derive(Debug, Clone)]
struct PrintedLine {
    x: f32,
    y: f32,
    end_x: f32,
    size: f32,
    text: String,
    /// Gaps of more than 1.5 chars between shows: table columns.
    gaps: usize,
}

/// The lines of one page, in the order the content draws them.
#[derive(Debug, Default)]
struct PageLines {
    lines: Vec<PrintedLine>,
}

impl PageLines {
    fn add(&mut self, x: f32, y: f32, end_x: f32, size: f32, text: &str) {
        if let Some(line) = self.lines.last_mut() {
            let same_baseline = (y - line.y).abs() <= 0.5 * size.max(line.size);
            if same_baseline && x > line.x {
                // A gap is a space between Latin words; Chinese has none
                // (a gap beside a Chinese char is typesetting).
                let latin_edges = line
                    .text
                    .ends_with(|c: char| !c.is_whitespace() && !is_wide(c))
                    && text.starts_with(|c: char| !is_wide(c));
                let gap = x - line.end_x;
                if gap > 1.5 * size {
                    // Columns apart (a table, a tab stop): a tab.
                    line.gaps += 1;
                    line.text.push('\t');
                } else if gap > 0.5 * size && latin_edges {
                    line.text.push(' ');
                }
                line.text.push_str(text);
                line.end_x = line.end_x.max(end_x);
                line.size = line.size.max(size);
                return;
            }
        }
        self.lines.push(PrintedLine {
            x,
            y,
            end_x,
            size,
            text: text.to_string(),
            gaps: 0,
        });
    }

    /// The page's text: one line per paragraph where the page shows where
    /// paragraphs go on ([`Self::runs_on`]), else one per printed line;
    /// indented lines marked with two ideographic spaces, wide vertical
    /// gaps as blank lines.
    fn write_to(&self, out: &mut String) {
        let margin = self.left_margin();
        let right = self.right_edge();
        let indents = margin.is_some_and(|m| self.lines.iter().any(|l| is_first_line_indent(l, m)));
        let mut previous: Option<&PrintedLine> = None;
        for line in &self.lines {
            let text = line.text.trim();
            if text.is_empty() {
                continue;
            }
            if let Some(p) = previous {
                if Self::runs_on(p, line, margin, right, indents) {
                    let latin = p
                        .text
                        .trim_end()
                        .ends_with(|c: char| c.is_ascii_alphanumeric())
                        && text.starts_with(|c: char| c.is_ascii_alphanumeric());
                    if latin {
                        out.push(' ');
                    }
                    out.push_str(text);
                    previous = Some(line);
                    continue;
                }
                out.push('\n');
                if p.y - line.y > 2.2 * p.size.max(line.size) {
                    out.push('\n');
                }
            }
            if margin.is_some_and(|m| line.x - m >= 1.5 * line.size) {
                out.push_str("\u{3000}\u{3000}");
            }
            out.push_str(text);
            previous = Some(line);
        }
    }

    /// True when `next` continues the paragraph of `line`: `next` is the
    /// line below (no blank gap), in the same size, at the left margin (not
    /// indented), neither is a table row (columns apart), and `line` is
    /// filled to the right edge: within 3 chars (a number or a word that
    /// did not fit moves down whole), or within 1.2 when it ends a
    /// sentence, and then only on a page that marks paragraphs by indent
    /// (where a new paragraph would be indented).
    fn runs_on(
        line: &PrintedLine,
        next: &PrintedLine,
        margin: Option<f32>,
        right: Option<f32>,
        indents: bool,
    ) -> bool {
        let (Some(margin), Some(right)) = (margin, right) else {
            return false;
        };
        let ends = ends_sentence(&line.text);
        if ends && !indents {
            return false;
        }
        let slack = if ends { 1.2 } else { 3.0 } * line.size;
        let drop = line.y - next.y;
        line.end_x >= right - slack
            && (next.x - margin).abs() < 0.5 * next.size
            && drop > 0.5 * line.size
            && drop <= 2.2 * line.size.max(next.size)
            && (line.size - next.size).abs() <= 0.1 * line.size
            && line.gaps == 0
            && next.gaps == 0
    }

    /// Where the text block ends on the right: the most common end (to 2
    /// points) of the lines ending within 3 chars of the furthest one
    /// (punctuation may hang past the edge).
    fn right_edge(&self) -> Option<f32> {
        let long = || {
            self.lines
                .iter()
                .filter(|l| l.text.trim().chars().count() >= 4)
        };
        let furthest = long().map(|l| l.end_x).max_by(f32::total_cmp)?;
        let mut counts: HashMap<i32, usize> = HashMap::new();
        for l in long().filter(|l| l.end_x >= furthest - 3.0 * l.size) {
            *counts.entry((l.end_x / 2.0).round() as i32).or_default() += 1;
        }
        counts
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)))
            .map(|(x, _)| x as f32 * 2.0)
    }

    /// The page's left edge: where the leftmost line of four or more
    /// chars starts (body lines that fill the width start there; titles,
    /// page numbers and first lines start right of it).
    fn left_margin(&self) -> Option<f32> {
        self.lines
            .iter()
            .filter(|l| l.text.trim().chars().count() >= 4)
            .map(|l| l.x)
            .min_by(f32::total_cmp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample_pdf::SamplePdf;

    fn notice() -> SamplePdf {
        SamplePdf::new([
            "关于推进涉企审批提速的通知",
            "各区县人民政府，市政府各部门：",
            "为进一步压缩企业开办时间，市政务服务中心将设立企业开办综合窗口，营业执照、印章刻制、发票申领和社保登记一次提交、一日办结，全程不收费。",
            "一、精简审批事项",
            "对市级保留的行政许可事项实行清单管理，清单之外一律不得设定审批，年底前再取消和下放一批审批事项。",
        ])
    }

    #[test]
    fn reads_cjk_lines_with_indents_and_page_breaks() {
        let mut pdf = notice();
        pdf.lines_per_page = 4;
        pdf.header = Some("河川市人民政府办公室文件".into());
        let text = pdf_to_text(&pdf.to_bytes()).unwrap();
        // The header, a blank line for the gap under it, the centred title
        // and first lines indented, a paragraph's printed lines joined into
        // one (each filled to the right edge, the next at the left margin),
        // the page number after a gap, a form feed, the next page's header.
        let page_1 = "\u{3000}\u{3000}河川市人民政府办公室文件\n\n\
                      \u{3000}\u{3000}关于推进涉企审批提速的通知\n\
                      \u{3000}\u{3000}各区县人民政府，市政府各部门：\n\
                      \u{3000}\u{3000}为进一步压缩企业开办时间，市政务服务中心将设立企业开\
                      办综合窗口，营业执照、印章刻制、发票申领和社保登记一次提\n\n\
                      \u{3000}\u{3000}- 1 -\n\u{c}\u{3000}\u{3000}河川市人民政府办公室文件\n\n\
                      交、一日办结，全程不收费。\n";
        assert!(text.starts_with(page_1), "{text}");
        assert!(text.ends_with("- 2 -\n"), "{text}");
        // Every char of the paragraphs comes back, in order, between the
        // headers and page numbers.
        let flat: String = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.ends_with("文件") && !l.starts_with("- "))
            .flat_map(str::chars)
            .collect();
        for p in &pdf.paragraphs {
            assert!(flat.contains(p.as_str()), "{p} missing from {text}");
        }
    }

    #[test]
    fn chars_outside_the_bmp_come_back() {
        let text =
            pdf_to_text(&SamplePdf::new(["𠀋村便民服务站延长办理时间。"]).to_bytes()).unwrap();
        assert!(text.contains("𠀋村便民服务站延长办理时间。"), "{text}");
    }

    #[test]
    fn a_gap_between_shows_on_a_line_is_a_space() {
        let mut lines = PageLines::default();
        lines.add(72.0, 700.0, 100.0, 12.0, "Page");
        lines.add(110.0, 700.0, 116.0, 12.0, "3");
        lines.add(72.0, 680.0, 300.0, 12.0, "the next line, wider");
        let mut out = String::new();
        lines.write_to(&mut out);
        assert_eq!(out, "Page 3\nthe next line, wider");
    }

    #[test]
    fn a_wide_vertical_gap_is_a_blank_line() {
        let mut lines = PageLines::default();
        lines.add(72.0, 700.0, 100.0, 12.0, "一");
        lines.add(72.0, 686.0, 100.0, 12.0, "二");
        lines.add(72.0, 640.0, 100.0, 12.0, "三");
        let mut out = String::new();
        lines.write_to(&mut out);
        assert_eq!(out, "一\n二\n\n三");
    }

    #[test]
    fn identity_fonts_without_a_map_cannot_be_read() {
        let bytes = notice().to_bytes();
        let at = bytes
            .windows(16)
            .position(|w| w == b"/ToUnicode 5 0 R")
            .unwrap();
        let mut bytes = bytes;
        bytes[at..at + 16].fill(b' ');
        assert_eq!(pdf_to_text(&bytes), Err(PdfError::NoUnicode));
    }

    #[test]
    fn a_password_protected_file_is_refused() {
        let mut pdf = notice();
        pdf.encrypted = true;
        assert_eq!(pdf_to_text(&pdf.to_bytes()), Err(PdfError::Encrypted));
    }

    #[test]
    fn a_file_without_text_is_a_scan() {
        let mut pdf = SamplePdf::new(Vec::<String>::new());
        pdf.page_numbers = false;
        let err = pdf_to_text(&pdf.to_bytes()).unwrap_err();
        assert_eq!(err, PdfError::NoTextLayer { pages: 1 });
        assert!(err.to_string().contains("OCR"));
    }

    #[test]
    fn too_many_pages_are_refused_before_reading() {
        let mut pdf = SamplePdf::new(vec!["审批".to_string(); MAX_PAGES + 1]);
        pdf.lines_per_page = 1;
        pdf.page_numbers = false;
        assert_eq!(
            pdf_to_text(&pdf.to_bytes()),
            Err(PdfError::TooManyPages(MAX_PAGES + 1))
        );
    }

    #[test]
    fn damaged_and_foreign_files_are_unreadable() {
        let bytes = notice().to_bytes();
        for bad in [
            &bytes[..bytes.len() / 3],
            b"%PDF-1.7\n garbage".as_slice(),
            b"hello",
        ] {
            match pdf_to_text(bad) {
                Err(PdfError::Unreadable(_)) | Err(PdfError::NoTextLayer { .. }) => {}
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn predefined_chinese_cmaps_are_decoded() {
        let gbk = FontDecoder::predefined(b"GBK-EUC-H").unwrap();
        assert_eq!(gbk.decode(&[0xC9, 0xF3, 0xC5, 0xFA]).unwrap(), "审批");
        let ucs2 = FontDecoder::predefined(b"UniGB-UCS2-H").unwrap();
        assert_eq!(ucs2.decode(&[0x5B, 0xA1, 0x62, 0x79]).unwrap(), "审批");
        assert!(FontDecoder::predefined(b"Identity-H").is_none());
    }

    #[test]
    fn matrices_compose_in_pdf_order() {
        let m = Matrix::translate(10.0, 20.0).then(Matrix([2.0, 0.0, 0.0, 2.0, 5.0, 5.0]));
        assert_eq!(m.origin(), (25.0, 45.0));
    }

    #[test]
    fn damaged_copies_never_panic() {
        // Every 5th byte of an uncompressed sample overwritten with bytes
        // that break tokens, numbers, names and strings in turn.
        let mut pdf = notice();
        pdf.compressed = false;
        pdf.lines_per_page = 3;
        let bytes = pdf.to_bytes();
        let junk: [&[u8]; 4] = [b"<<", b"9999999999", b"/\xff(", b")] R"];
        for (k, at) in (0..bytes.len()).step_by(5).enumerate() {
            let mut copy = bytes.clone();
            let j = junk[k % junk.len()];
            let end = (at + j.len()).min(copy.len());
            copy[at..end].copy_from_slice(&j[..end - at]);
            let _ = pdf_to_text(&copy);
        }
    }

    /// Lines of 10-point text on a block from x 50 to 530, 14 points apart.
    fn page(lines: &[(f32, f32, &str)]) -> String {
        let mut page = PageLines::default();
        for (i, &(x, end_x, text)) in lines.iter().enumerate() {
            page.add(x, 700.0 - 14.0 * i as f32, end_x, 10.0, text);
        }
        let mut out = String::new();
        page.write_to(&mut out);
        out
    }

    #[test]
    fn printed_lines_of_a_paragraph_are_joined_by_where_they_end_and_start() {
        // Block paragraphs (no indents): a filled line runs on, also when a
        // number moved down whole left it 2 chars short; a filled line
        // that ends a sentence may end its paragraph, so it stays a line;
        // punctuation hanging past the edge does not move the edge.
        let text = page(&[
            (
                50.0,
                530.0,
                "依托市级数据共享交换平台，打通公安、人社等部门业务",
            ),
            (50.0, 510.0, "系统，年内新增共享数据接口"),
            (50.0, 300.0, "200个以上。"),
            (50.0, 538.0, "全面推行告知承诺制，审批时限压缩至3个工作日。"),
            (50.0, 200.0, "二、加强监管"),
            (50.0, 530.0, "表格 | 事项"),
        ]);
        assert_eq!(
            text,
            "依托市级数据共享交换平台，打通公安、人社等部门业务系统，年内新增共享数据接口200个以上。\n\
             全面推行告知承诺制，审批时限压缩至3个工作日。\n二、加强监管\n表格 | 事项"
        );
        // With first-line indents, a filled line ending a sentence runs on
        // when the next line is not indented; an indented one starts a
        // paragraph.
        let text = page(&[
            (
                70.0,
                530.0,
                "全面推行告知承诺制，审批时限压缩至三个工作日。",
            ),
            (50.0, 300.0, "企业开办一日办结。"),
            (70.0, 530.0, "开展双随机抽查，结果向社会公示。"),
        ]);
        assert_eq!(
            text,
            "\u{3000}\u{3000}全面推行告知承诺制，审批时限压缩至三个工作日。企业开办一日办结。\n\
             \u{3000}\u{3000}开展双随机抽查，结果向社会公示。"
        );
    }

    #[test]
    fn table_rows_are_not_joined() {
        let mut page = PageLines::default();
        page.add(50.0, 700.0, 120.0, 10.0, "事项名称");
        page.add(300.0, 700.0, 530.0, 10.0, "承诺时限三个工作日");
        page.add(50.0, 686.0, 120.0, 10.0, "企业开办");
        page.add(300.0, 686.0, 400.0, 10.0, "一个工作日");
        let mut out = String::new();
        page.write_to(&mut out);
        assert_eq!(out, "事项名称\t承诺时限三个工作日\n企业开办\t一个工作日");
    }
}
