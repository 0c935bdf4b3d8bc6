//! Word files (`.docx`: a zip holding `word/document.xml`) to text: one
//! line per Word paragraph (`<w:p>`), `<w:br/>` and `<w:cr/>` end a line,
//! `<w:tab/>` is a tab, table cells in a row are joined with ` | `; deleted
//! revisions (`<w:delText>`) are left out.
//!
//! Limits, checked before and while reading: the zip may hold at most
//! [`MAX_XML_BYTES`] of document XML once decompressed (a zip bomb stops
//! there), and the old binary `.doc`/`.wps` (an OLE file, not a zip) is
//! refused with a message saying what to do.

use std::io::{Cursor, Read};

use quick_xml::events::Event;

/// Largest `word/document.xml` read, decompressed: 64 MiB (a 4 MB
/// document's XML is rarely over 20 MB).
pub const MAX_XML_BYTES: u64 = 64 * 1024 * 1024;

/// Why a file is not a Word document this module can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocxError {
    /// An OLE file: Word 97-2003 `.doc` or WPS `.wps`.
    OldBinary,
    /// Not a zip, or a zip without `word/document.xml`.
    NotDocx(String),
    /// More document XML than [`MAX_XML_BYTES`].
    TooLarge,
    /// XML that cannot be read.
    BadXml(String),
}

impl std::fmt::Display for DocxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DocxError::OldBinary => write!(
                f,
                "an old binary Word (.doc) or WPS (.wps) file cannot be read: save it as .docx \
                 or as text (UTF-8) first"
            ),
            DocxError::NotDocx(why) => write!(f, "not a .docx file ({why})"),
            DocxError::TooLarge => write!(
                f,
                "the document's XML is over {} MiB once decompressed: split the document",
                MAX_XML_BYTES / (1024 * 1024)
            ),
            DocxError::BadXml(why) => write!(f, "the .docx file's XML cannot be read ({why})"),
        }
    }
}

impl std::error::Error for DocxError {}

/// True for the first bytes of an OLE compound file (.doc, .wps, .xls).
pub fn is_ole(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
}

/// True for the first bytes of a zip (a .docx is one).
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// The text of a `.docx` file's bytes.
pub fn docx_to_text(bytes: &[u8]) -> Result<String, DocxError> {
    if is_ole(bytes) {
        return Err(DocxError::OldBinary);
    }
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| DocxError::NotDocx(e.to_string()))?;
    let file = archive
        .by_name("word/document.xml")
        .map_err(|_| DocxError::NotDocx("no word/document.xml inside".into()))?;
    if file.size() > MAX_XML_BYTES {
        return Err(DocxError::TooLarge);
    }
    // The declared size may lie: read one byte past the limit at most.
    let mut xml = Vec::new();
    file.take(MAX_XML_BYTES + 1)
        .read_to_end(&mut xml)
        .map_err(|e| DocxError::NotDocx(e.to_string()))?;
    if xml.len() as u64 > MAX_XML_BYTES {
        return Err(DocxError::TooLarge);
    }
    document_xml_to_text(&xml)
}

/// The text of `word/document.xml`.
fn document_xml_to_text(xml: &[u8]) -> Result<String, DocxError> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut out = String::new();
    let mut line = String::new();
    let mut in_text = false;
    let mut cells_in_row = 0usize;
    let end_line = |line: &mut String, out: &mut String| {
        let t = line.trim();
        if !t.is_empty() {
            out.push_str(t);
            out.push('\n');
        }
        line.clear();
    };
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| DocxError::BadXml(e.to_string()))?;
        match event {
            Event::Start(e) | Event::Empty(e) => match e.name().into_inner() {
                "w:t" => in_text = true,
                "w:tab" => line.push('\t'),
                "w:br" | "w:cr" => end_line(&mut line, &mut out),
                "w:tr" => cells_in_row = 0,
                "w:tc" => {
                    if cells_in_row > 0 {
                        line.truncate(line.trim_end().len());
                        line.push_str(" | ");
                    }
                    cells_in_row += 1;
                }
                _ => {}
            },
            Event::End(e) => match e.name().into_inner() {
                "w:t" => in_text = false,
                // A paragraph ends its line, except inside a table cell,
                // whose paragraphs share the row's line.
                "w:p" if cells_in_row == 0 => end_line(&mut line, &mut out),
                "w:p" => line.push(' '),
                "w:tr" => {
                    end_line(&mut line, &mut out);
                    cells_in_row = 0;
                }
                _ => {}
            },
            Event::Text(t) if in_text => {
                line.push_str(&t.xml10_content());
            }
            Event::GeneralRef(r) if in_text => {
                // &amp; &lt; &gt; &quot; &apos; and numeric references.
                let name: &str = &r;
                let resolved = match name {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    _ => r.resolve_char_ref().ok().flatten(),
                };
                if let Some(c) = resolved {
                    line.push(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    end_line(&mut line, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A minimal .docx: a zip with `word/document.xml` holding `body`.
    pub(crate) fn docx(body: &str) -> Vec<u8> {
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
             <w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">\
             <w:body>{body}</w:body></w:document>"
        );
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("[Content_Types].xml", options).unwrap();
        zip.write_all(b"<Types/>").unwrap();
        zip.start_file("word/document.xml", options).unwrap();
        zip.write_all(xml.as_bytes()).unwrap();
        zip.finish().unwrap().into_inner()
    }

    fn para(text: &str) -> String {
        format!("<w:p><w:r><w:t>{text}</w:t></w:r></w:p>")
    }

    #[test]
    fn paragraphs_breaks_tabs_and_table_rows_become_lines() {
        let body = [
            para("关于优化营商环境的实施方案"),
            "<w:p><w:pPr><w:pStyle w:val=\"Heading1\"/></w:pPr><w:r><w:t>一、深化审批</w:t></w:r>\
             <w:r><w:t xml:space=\"preserve\">制度改革</w:t></w:r></w:p>"
                .to_string(),
            "<w:p><w:r><w:t>第一行</w:t><w:br/><w:t>第二行&amp;</w:t><w:tab/><w:t>续</w:t></w:r></w:p>"
                .to_string(),
            "<w:p><w:r><w:delText>删掉的</w:delText><w:t>留下的</w:t></w:r></w:p>".to_string(),
            "<w:tbl><w:tr><w:tc>".to_string() + &para("索引号") + "</w:tc><w:tc>" + &para("0001")
                + "</w:tc></w:tr></w:tbl>",
        ]
        .concat();
        let text = docx_to_text(&docx(&body)).unwrap();
        assert_eq!(
            text,
            "关于优化营商环境的实施方案\n一、深化审批制度改革\n第一行\n第二行&\t续\n留下的\n索引号 | 0001\n"
        );
    }

    #[test]
    fn old_word_files_zips_without_a_document_and_bombs_are_refused() {
        let ole = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest of a .doc";
        assert_eq!(docx_to_text(ole).unwrap_err(), DocxError::OldBinary);
        assert!(matches!(
            docx_to_text(b"PK\x03\x04garbage"),
            Err(DocxError::NotDocx(_))
        ));
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("other.xml", zip::write::SimpleFileOptions::default())
            .unwrap();
        let not_word = zip.finish().unwrap().into_inner();
        assert!(matches!(
            docx_to_text(&not_word),
            Err(DocxError::NotDocx(_))
        ));
        // 65 MiB of zeros deflate to about 64 KiB: refused once decompressed.
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("word/document.xml", options).unwrap();
        let zeros = vec![b' '; 1024 * 1024];
        for _ in 0..65 {
            zip.write_all(&zeros).unwrap();
        }
        let bomb = zip.finish().unwrap().into_inner();
        assert!(bomb.len() < 1024 * 1024, "{}", bomb.len());
        assert_eq!(docx_to_text(&bomb).unwrap_err(), DocxError::TooLarge);
    }
}
