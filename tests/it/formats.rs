//! One document in every format `fgf tag` reads: UTF-8, GB18030 and UTF-16
//! text, an HTML page, a Word file and a PDF laid out on pages (lines of 28
//! chars, first lines indented, page numbers). Each must come out as the
//! same paragraphs with the same roles and labels as the UTF-8 text.

use std::collections::BTreeMap;
use std::path::Path;

use crate::batch::tag_locally;
use crate::common::docx;

/// The team's own test documents: a reply, a plan, a summary, a web page
/// with its navigation, a notice.
const DOCUMENTS: [&str; 5] = [
    "tests/fixtures/layout/reply_proposal.txt",
    "tests/fixtures/layout/implementation_plan.txt",
    "tests/fixtures/layout/work_summary.txt",
    "tests/fixtures/layout/web_news.txt",
    "tests/fixtures/real/docs/notice.txt",
];

/// The formats, by the file name suffix each copy is written under.
const FORMATS: [&str; 6] = [
    ".utf8.txt",
    ".gb18030.txt",
    ".utf16.txt",
    ".html",
    ".docx",
    ".pdf",
];

fn write_copies(text: &str, stem: &Path) {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let write = |suffix: &str, bytes: &[u8]| {
        std::fs::write(format!("{}{suffix}", stem.display()), bytes).unwrap();
    };
    write(".utf8.txt", text.as_bytes());
    let (gb, _, unmappable) = encoding_rs::GB18030.encode(text);
    assert!(!unmappable);
    write(".gb18030.txt", &gb);
    let utf16: Vec<u8> = "\u{FEFF}"
        .encode_utf16()
        .chain(text.encode_utf16())
        .flat_map(u16::to_le_bytes)
        .collect();
    write(".utf16.txt", &utf16);
    let escape = |l: &str| {
        l.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let body: String = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let tag = if i == 0 { "h1" } else { "p" };
            format!("<{tag}>{}</{tag}>\n", escape(l))
        })
        .collect();
    write(
        ".html",
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>{body}</body></html>"
        )
        .as_bytes(),
    );
    let escaped: Vec<String> = lines.iter().map(|l| escape(l)).collect();
    let escaped: Vec<&str> = escaped.iter().map(String::as_str).collect();
    write(".docx", &docx(&escaped));
    write(
        ".pdf",
        &fgf_extract::sample_pdf::SamplePdf::new(lines).to_bytes(),
    );
}

/// A span as compared across formats: its text without whitespace (a PDF
/// paragraph holds the newlines of its printed lines), role, labels.
///
/// A PDF's page numbers, which the other copies do not have, are left out:
/// spans of their own (boilerplate) and the page number inside a paragraph
/// that runs on across a page break.
fn paragraphs(response: &serde_json::Value) -> Vec<(String, String, String)> {
    let page_number = |t: &str| {
        t.strip_prefix("- ")
            .and_then(|t| t.strip_suffix(" -"))
            .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
    };
    response["spans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| !page_number(s["text"].as_str().unwrap()))
        .map(|s| {
            let text: String = s["text"]
                .as_str()
                .unwrap()
                .lines()
                .filter(|l| !page_number(l.trim()))
                .flat_map(str::chars)
                .filter(|c| !c.is_whitespace())
                .collect();
            let codes = |key: &str| {
                s[key]
                    .as_array()
                    .map(|a| {
                        let mut codes: Vec<&str> =
                            a.iter().map(|l| l["code"].as_str().unwrap()).collect();
                        // Scores may differ a little (a page number inside
                        // a paragraph is text too), and with them the order.
                        codes.sort_unstable();
                        codes.join(",")
                    })
                    .unwrap_or_default()
            };
            let role = s["role"].as_str().unwrap().to_string();
            (
                text,
                role,
                format!("{} | {}", codes("pillars"), codes("themes")),
            )
        })
        .collect()
}

#[test]
fn the_same_document_in_every_format_gets_the_same_paragraphs_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for path in DOCUMENTS {
        let text = std::fs::read_to_string(root.join(path)).unwrap();
        let name = Path::new(path).file_stem().unwrap();
        write_copies(&text, &docs.join(name));
    }
    let (output, responses, errors) = tag_locally(&docs, dir.path());
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(responses.len(), DOCUMENTS.len() * FORMATS.len());
    let by_id: BTreeMap<&str, &serde_json::Value> = responses
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r))
        .collect();
    let mut differences = Vec::new();
    let mut compared = 0;
    for path in DOCUMENTS {
        let name = Path::new(path).file_stem().unwrap().to_str().unwrap();
        let of = |suffix: &str| {
            let id = docs.join(format!("{name}{suffix}"));
            paragraphs(by_id[id.to_str().unwrap()])
        };
        let reference = of(FORMATS[0]);
        assert!(reference.len() >= 5, "{name}: {reference:?}");
        for suffix in &FORMATS[1..] {
            let copy = of(suffix);
            compared += reference.len();
            if copy != reference {
                let missing: Vec<_> = reference.iter().filter(|p| !copy.contains(p)).collect();
                let extra: Vec<_> = copy.iter().filter(|p| !reference.contains(p)).collect();
                differences.push(format!(
                    "{name}{suffix}: {} of {} paragraphs differ\n  text: {missing:?}\n  copy: {extra:?}",
                    missing.len().max(extra.len()),
                    reference.len()
                ));
            }
        }
    }
    assert!(compared > 100, "{compared}");
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
