//! Request checks: one validating conversion of a `pb::TagRequest` into
//! [`TagOptions`], and the size check, each refusal an INVALID_ARGUMENT
//! whose message says what to change.

use fgf_core::spans::LineMode;
use fgf_core::tagger::TagOptions;
use tonic::Status;

use crate::limits::Limits;
use crate::pb;

/// Refuses a text over [`Limits::max_doc_bytes`].
pub fn check_size(text: &str, what: &str, limits: &Limits) -> Result<(), Status> {
    if text.len() > limits.max_doc_bytes {
        return Err(Status::invalid_argument(format!(
            "{what} is {} bytes; the limit is {} bytes (--max-doc-bytes): split the document",
            text.len(),
            limits.max_doc_bytes
        )));
    }
    Ok(())
}

/// Checks a TagRequest and turns it into options: the one conversion
/// every caller uses (the service, `fgf tag --local`, `fgf tag-one`).
pub fn tag_options(req: &pb::TagRequest, limits: &Limits) -> Result<TagOptions, Status> {
    if let Some(reason) = crate::codec::invalid_utf8_reason(req) {
        return Err(Status::invalid_argument(reason));
    }
    check_size(&req.text, "text", limits)?;
    let sentences = match pb::Granularity::try_from(req.granularity) {
        Ok(pb::Granularity::Unspecified | pb::Granularity::Paragraph) => false,
        Ok(pb::Granularity::Sentence) => true,
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "granularity {} is not a Granularity value; use 1 (PARAGRAPH) or 2 (SENTENCE)",
                req.granularity
            )));
        }
    };
    let threshold = req.threshold;
    if !(0.0..=1.0).contains(&threshold) {
        return Err(Status::invalid_argument(format!(
            "threshold {threshold} is outside [0, 1]; use 0 for the model's defaults"
        )));
    }
    if req.all_scores && threshold > 0.0 {
        return Err(Status::invalid_argument(format!(
            "threshold {threshold} and all_scores are both set; all_scores returns every \
             label, so leave threshold at 0"
        )));
    }
    let line_mode = match pb::LineMode::try_from(req.line_mode) {
        Ok(pb::LineMode::Unspecified | pb::LineMode::Reflow) => LineMode::Reflow,
        Ok(pb::LineMode::Lines) => LineMode::Lines,
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "line_mode {} is not a LineMode value; use 0 or 2 (REFLOW) or 1 (LINES)",
                req.line_mode
            )));
        }
    };
    let threshold = if req.all_scores {
        Some(0.0)
    } else {
        (threshold > 0.0).then_some(threshold)
    };
    Ok(TagOptions {
        sentences,
        threshold,
        line_mode,
        evidence: req.include_evidence,
    })
}

/// When the request sent `content` (a file's bytes) instead of `text`:
/// checks it, extracts its text ([`fgf_extract`]) into `req.text` and
/// returns true (the response then carries the text). False for a `text`
/// request, which is left as it is.
pub fn take_content(req: &mut pb::TagRequest, limits: &Limits) -> Result<bool, Status> {
    if req.content.is_empty() {
        return Ok(false);
    }
    if !req.text.is_empty() {
        return Err(Status::invalid_argument(
            "both text and content are set: send the document once, as text (a string) or as \
             content (a file's bytes)",
        ));
    }
    if req.content.len() > limits.max_doc_bytes {
        return Err(Status::invalid_argument(format!(
            "content is {} bytes; the limit is {} bytes (--max-doc-bytes): split the document",
            req.content.len(),
            limits.max_doc_bytes
        )));
    }
    let media_type = req.media_type.to_ascii_lowercase();
    let mut parts = media_type.split(';').map(str::trim);
    let kind = parts.next().unwrap_or("");
    let charset = parts
        .find_map(|p| p.strip_prefix("charset="))
        .map(|c| c.trim_matches('"'));
    let encoding = charset
        .map(fgf_extract::encoding_for_label)
        .transpose()
        .map_err(|e| Status::invalid_argument(format!("media_type {:?}: {e}", req.media_type)))?;
    let name = match kind {
        "text/html" | "application/xhtml+xml" => Some("content.html"),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
            Some("content.docx")
        }
        "application/pdf" => Some("content.pdf"),
        "text/plain" | "text/markdown" => None,
        "" => (!req.file_name.is_empty()).then_some(req.file_name.as_str()),
        other => {
            return Err(Status::invalid_argument(format!(
                "media_type {other:?} is not supported: send text/plain (any charset), \
                 text/html, application/pdf or a Word .docx (application/vnd.\
                 openxmlformats-officedocument.wordprocessingml.document)"
            )));
        }
    };
    let unread = |e: fgf_extract::ExtractError| {
        Status::invalid_argument(format!("content cannot be read: {e}"))
    };
    let text = if kind.starts_with("text/plain") || kind == "text/markdown" {
        fgf_extract::decode_text(&req.content, encoding)
            .map_err(|e| unread(e.into()))?
            .text
    } else {
        fgf_extract::extract(&req.content, name, encoding)
            .map_err(unread)?
            .text
    };
    check_size(&text, "the text extracted from content", limits)?;
    req.text = text;
    req.content = Vec::new();
    Ok(true)
}
