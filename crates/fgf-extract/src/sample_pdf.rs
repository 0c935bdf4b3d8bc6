//! A small PDF writer for tests, benchmarks and fuzz seeds: paragraphs of
//! Chinese (or any) text laid out on A4 pages the way a word processor
//! exports them, so [`crate::pdf`] can be tested on files made here rather
//! than on binaries nobody can read.
//!
//! What it writes is what government PDFs exported from Word or WPS look
//! like to a text extractor: one Type0 font with `Identity-H` encoding and
//! glyph ids given out in order of first use (as a subset font does), a
//! `/ToUnicode` map back to the characters, page content compressed with
//! FlateDecode, body lines of a fixed number of characters with the first
//! line of each paragraph indented by two characters, and optionally a
//! running header and a centred page number on every page. No font program
//! is embedded (a text extractor never reads one).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;

/// A document to lay out.
#[derive(Debug, Clone)]
pub struct SamplePdf {
    /// Paragraphs in reading order; a paragraph of up to `title_chars`
    /// chars that starts the document is centred as a title.
    pub paragraphs: Vec<String>,
    /// Body characters per line: wide (CJK) chars in a full line; a
    /// narrow char takes half a cell.
    pub chars_per_line: usize,
    /// Body lines per page.
    pub lines_per_page: usize,
    /// A running header at the top of every page.
    pub header: Option<String>,
    /// "- N -" centred at the foot of every page.
    pub page_numbers: bool,
    /// Write an `/Encrypt` dictionary whose user password is not empty: a
    /// file that cannot be opened without a password.
    pub encrypted: bool,
    /// Compress page content with FlateDecode (as exporters do); off, the
    /// content operators are plain bytes a fuzzer can change.
    pub compressed: bool,
}

impl SamplePdf {
    /// Paragraphs at 28 chars a line and 22 lines a page (a Chinese
    /// official document's layout), with page numbers.
    pub fn new<S: Into<String>>(paragraphs: impl IntoIterator<Item = S>) -> Self {
        SamplePdf {
            paragraphs: paragraphs.into_iter().map(Into::into).collect(),
            chars_per_line: 28,
            lines_per_page: 22,
            header: None,
            page_numbers: true,
            encrypted: false,
            compressed: true,
        }
    }

    /// The PDF file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let pages = self.layout();
        let mut glyphs = Glyphs::default();
        let contents: Vec<Vec<u8>> = pages
            .iter()
            .enumerate()
            .map(|(i, lines)| self.page_content(i + 1, lines, &mut glyphs))
            .collect();
        write_file(&contents, &glyphs, self.encrypted, self.compressed)
    }

    /// Lines of each page: (indent in chars, text, centred). Lines are
    /// filled by width, as a word processor fills them: a wide (CJK) char
    /// takes a full character cell, a narrow one (digits, Latin) half.
    fn layout(&self) -> Vec<Vec<(usize, String, bool)>> {
        let cells = self.chars_per_line.max(4) * 2;
        let width = |c: &char| if c.is_ascii() { 1 } else { 2 };
        let mut lines = Vec::new();
        for (i, p) in self.paragraphs.iter().enumerate() {
            let chars: Vec<char> = p.trim().chars().collect();
            if i == 0 && chars.iter().map(width).sum::<usize>() <= cells - 8 {
                lines.push((0, chars.iter().collect(), true));
                continue;
            }
            let mut rest = &chars[..];
            let mut indent = 2;
            while !rest.is_empty() {
                let room = cells - indent * 2;
                let (mut used, mut take) = (0, 0);
                while take < rest.len() && used + width(&rest[take]) <= room {
                    used += width(&rest[take]);
                    take += 1;
                }
                let take = take.max(1);
                lines.push((indent, rest[..take].iter().collect(), false));
                rest = &rest[take..];
                indent = 0;
            }
        }
        let per_page = self.lines_per_page.max(1);
        let mut pages: Vec<_> = lines.chunks(per_page).map(<[_]>::to_vec).collect();
        if pages.is_empty() {
            pages.push(Vec::new());
        }
        pages
    }

    /// One page's content stream: the header by `Tm`, the body in one text
    /// object moved line to line by `Td`, the page number by `TJ`.
    fn page_content(
        &self,
        number: usize,
        lines: &[(usize, String, bool)],
        glyphs: &mut Glyphs,
    ) -> Vec<u8> {
        const SIZE: f32 = 16.0;
        const LEADING: f32 = 28.0;
        const LEFT: f32 = 72.0;
        let body_width = self.chars_per_line as f32 * SIZE;
        let mut s = String::new();
        if let Some(h) = &self.header {
            let x = LEFT + (body_width - h.chars().count() as f32 * 10.5) / 2.0;
            let _ = writeln!(
                s,
                "BT /F1 10.5 Tf 1 0 0 1 {x:.2} 790 Tm <{}> Tj ET",
                glyphs.hex(h)
            );
            let _ = writeln!(s, "0.5 w {LEFT} 782 m {:.2} 782 l S", LEFT + body_width);
        }
        let _ = writeln!(s, "BT /F1 {SIZE} Tf");
        let (mut x, mut y) = (0.0f32, 0.0f32);
        for (i, (indent, text, centred)) in lines.iter().enumerate() {
            let nx = if *centred {
                let cells: usize = text.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum();
                LEFT + (body_width - cells as f32 * SIZE / 2.0) / 2.0
            } else {
                LEFT + *indent as f32 * SIZE
            };
            let ny = 750.0 - i as f32 * LEADING;
            let _ = writeln!(
                s,
                "{:.2} {:.2} Td <{}> Tj",
                nx - x,
                ny - y,
                glyphs.hex(text)
            );
            (x, y) = (nx, ny);
        }
        s.push_str("ET\n");
        if self.page_numbers {
            let label = format!("- {number} -");
            let x = LEFT + (body_width - label.len() as f32 * 7.0) / 2.0;
            // A TJ array with a kerning number between the dash and the digits.
            let (dash, rest) = label.split_at(2);
            let _ = writeln!(
                s,
                "BT /F1 14 Tf {x:.2} 50 Td [<{}> -20 <{}>] TJ ET",
                glyphs.hex(dash),
                glyphs.hex(rest)
            );
        }
        if self.compressed {
            deflate(s.as_bytes())
        } else {
            s.into_bytes()
        }
    }
}

/// Glyph ids given out in order of first use, as in a subset font.
#[derive(Default)]
struct Glyphs {
    ids: HashMap<char, u16>,
    order: Vec<char>,
}

impl Glyphs {
    /// `text` as hex glyph ids, two bytes each.
    fn hex(&mut self, text: &str) -> String {
        let mut out = String::new();
        for c in text.chars() {
            let next = self.order.len() as u16 + 1;
            let id = *self.ids.entry(c).or_insert_with(|| {
                self.order.push(c);
                next
            });
            let _ = write!(out, "{id:04X}");
        }
        out
    }

    /// Each glyph's advance from id 1 on, for `/W`: a narrow (ASCII) char
    /// half an em, others a full em.
    fn widths(&self) -> String {
        let w: Vec<&str> = self
            .order
            .iter()
            .map(|c| if c.is_ascii() { "500" } else { "1000" })
            .collect();
        w.join(" ")
    }

    /// The `/ToUnicode` CMap: each glyph id back to its char (UTF-16BE, so
    /// chars outside the BMP are a surrogate pair).
    fn to_unicode(&self) -> String {
        let mut s = String::from(
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
             /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
             /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
             1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
        );
        for chunk in self.order.chunks(100).enumerate() {
            let (first, chars) = chunk;
            let _ = writeln!(s, "{} beginbfchar", chars.len());
            for (k, c) in chars.iter().enumerate() {
                let id = first * 100 + k + 1;
                let mut units = [0u16; 2];
                let hex: String = c
                    .encode_utf16(&mut units)
                    .iter()
                    .map(|u| format!("{u:04X}"))
                    .collect();
                let _ = writeln!(s, "<{id:04X}> <{hex}>");
            }
            s.push_str("endbfchar\n");
        }
        s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
        s
    }
}

fn deflate(bytes: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(bytes).expect("writing to a Vec");
    z.finish().expect("writing to a Vec")
}

/// The file: catalog, page tree, font objects, then each page and its
/// content, then the cross-reference table.
fn write_file(contents: &[Vec<u8>], glyphs: &Glyphs, encrypted: bool, compressed: bool) -> Vec<u8> {
    let n = contents.len();
    // Objects 1-6 are fixed; page k is 7 + 2k, its content 8 + 2k.
    let kids: String = (0..n).map(|k| format!("{} 0 R ", 7 + 2 * k)).collect();
    let cmap = glyphs.to_unicode();
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!("<< /Type /Pages /Kids [{kids}] /Count {n} >>").into_bytes(),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /FGFSong /Encoding /Identity-H \
          /DescendantFonts [4 0 R] /ToUnicode 5 0 R >>"
            .to_vec(),
        format!(
            "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /FGFSong \
             /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> \
             /FontDescriptor 6 0 R /DW 1000 /W [1 [{}]] >>",
            glyphs.widths()
        )
        .into_bytes(),
        stream_object("", cmap.as_bytes()),
        b"<< /Type /FontDescriptor /FontName /FGFSong /Flags 4 /FontBBox [0 -140 1000 860] \
          /ItalicAngle 0 /Ascent 860 /Descent -140 /CapHeight 700 /StemV 80 >>"
            .to_vec(),
    ];
    for (k, content) in contents.iter().enumerate() {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] \
                 /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
                8 + 2 * k
            )
            .into_bytes(),
        );
        let filter = if compressed {
            "/Filter /FlateDecode "
        } else {
            ""
        };
        objects.push(stream_object(filter, content));
    }
    if encrypted {
        objects.push(
            format!(
                "<< /Filter /Standard /V 2 /R 3 /Length 128 /P -3904 /O <{}> /U <{}> >>",
                "5A".repeat(32),
                "A5".repeat(32)
            )
            .into_bytes(),
        );
    }

    let mut out: Vec<u8> = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for o in &offsets {
        let _ = writeln!(table, "{o:010} 00000 n ");
    }
    let encrypt = if encrypted {
        format!(
            " /Encrypt {} 0 R /ID [<{id}> <{id}>]",
            objects.len(),
            id = "0123456789ABCDEF0123456789ABCDEF"
        )
    } else {
        String::new()
    };
    let _ = write!(
        table,
        "trailer\n<< /Size {} /Root 1 0 R{encrypt} >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.extend_from_slice(table.as_bytes());
    out
}

fn stream_object(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut o = format!("<< {dict}/Length {} >>\nstream\n", data.len()).into_bytes();
    o.extend_from_slice(data);
    o.extend_from_slice(b"\nendstream");
    o
}
