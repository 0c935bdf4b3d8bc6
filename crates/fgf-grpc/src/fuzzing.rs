//! Entry points for fuzzing: arbitrary bytes in, a panic out only when an
//! invariant breaks.
//!
//! The cargo-fuzz targets in `fuzz/` call these, and so does
//! `tests/it/fuzz_regressions.rs`, which replays every input kept in
//! `fuzz/regressions/` (crashers once found, and inputs that reach rare
//! paths) on each `cargo test`, so a fixed crash stays fixed without a
//! nightly toolchain.
//!
//! * [`tag_text`]: the first byte chooses the [`TagOptions`], the rest is
//!   taken as UTF-8 text and tagged; every span must be ordered, on char
//!   boundaries, with byte and char offsets that agree.
//! * [`service_request`]: the first byte chooses an rpc, the rest is decoded
//!   as its protobuf message (as tonic would) and handed to the real
//!   [`TaggerService`] handler; any answer is fine but INTERNAL or UNKNOWN,
//!   which would mean a bug rather than a bad request.

use std::sync::Arc;

use prost::Message;
use tonic::Code;

use crate::pb;
use crate::pb::tagger_server::Tagger as _;
use crate::service::{Limits, TaggerService};
use fgf_core::spans::{LineMode, TextSpan};
use fgf_core::tagger::{TagOptions, TaggedSpan, Tagger};

/// Options encoded in one byte: bit 0 sentences, bit 1 one line per
/// paragraph, bit 2 evidence, bits 3–7 a threshold (0: the model's own).
pub fn options_from_byte(byte: u8) -> TagOptions {
    let step = byte >> 3;
    TagOptions {
        sentences: byte & 1 != 0,
        line_mode: if byte & 2 != 0 {
            LineMode::Lines
        } else {
            LineMode::Reflow
        },
        evidence: byte & 4 != 0,
        threshold: (step > 0).then(|| f32::from(step) / 31.0),
    }
}

/// Tags `data` (options byte, then text) and panics if a span is wrong.
/// Input that is not UTF-8 is skipped: the service only ever sees strings.
pub fn tag_text(tagger: &Tagger, data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let doc = tagger.tag(text, &options_from_byte(first));
    if let Err(e) = check_spans(text, &doc.spans, (0, text.len())) {
        panic!("{e} in {text:?}");
    }
}

/// Checks that `spans` lie in order inside `within`, on char boundaries of
/// `text`, with char offsets that match, and likewise their sentences and
/// evidence.
pub fn check_spans(text: &str, spans: &[TaggedSpan], within: (usize, usize)) -> Result<(), String> {
    let mut last = within.0;
    for s in spans {
        let TextSpan {
            start,
            end,
            char_start,
            char_end,
        } = s.span;
        if start < last || start >= end || end > within.1 {
            return Err(format!(
                "span {start}..{end} out of order or outside {last}..{}",
                within.1
            ));
        }
        if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            return Err(format!("span {start}..{end} not on char boundaries"));
        }
        if text[..start].chars().count() != char_start || text[..end].chars().count() != char_end {
            return Err(format!("span {start}..{end} has wrong char offsets"));
        }
        let slice = &text[start..end];
        for e in s.labels.iter().flat_map(|h| &h.evidence) {
            if e.end > slice.len()
                || !slice.is_char_boundary(e.start)
                || !slice.is_char_boundary(e.end)
            {
                return Err(format!("evidence {}..{} outside its span", e.start, e.end));
            }
        }
        check_spans(text, &s.sentences, (start, end))?;
        last = end;
    }
    Ok(())
}

/// A service and the runtime its handlers run on, built once per process.
pub struct ServiceHarness {
    runtime: tokio::runtime::Runtime,
    service: TaggerService,
}

impl ServiceHarness {
    /// A service over `tagger` with the default limits and one CPU slot.
    pub fn new(tagger: Arc<Tagger>) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread tokio runtime");
        Self {
            runtime,
            service: TaggerService::new(tagger, Limits::default(), 1),
        }
    }
}

/// Decodes `data` (rpc byte, then message bytes) and calls the handler.
/// Panics if the handler answers INTERNAL or UNKNOWN, or returns a Tag
/// response whose spans do not fit the request's text.
pub fn service_request(harness: &ServiceHarness, data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let service = &harness.service;
    let outcome: Result<(), tonic::Status> = harness.runtime.block_on(async {
        match first % 3 {
            0 => {
                let Ok(req) = pb::TagRequest::decode(rest) else {
                    return Ok(());
                };
                let text = req.text.clone();
                let resp = service.tag(tonic::Request::new(req)).await?.into_inner();
                check_pb_spans(&text, &resp.spans, (0, text.len()));
                Ok(())
            }
            1 => {
                let Ok(req) = pb::SegmentRequest::decode(rest) else {
                    return Ok(());
                };
                let text = req.text.clone();
                let resp = service
                    .segment(tonic::Request::new(req))
                    .await?
                    .into_inner();
                for t in &resp.tokens {
                    assert_eq!(
                        text.get(t.start as usize..t.end as usize),
                        Some(t.word.as_str())
                    );
                }
                Ok(())
            }
            _ => {
                service
                    .get_model_info(tonic::Request::new(pb::GetModelInfoRequest {}))
                    .await?;
                Ok(())
            }
        }
    });
    if let Err(status) = outcome {
        assert!(
            !matches!(status.code(), Code::Internal | Code::Unknown),
            "handler failed: {status:?}"
        );
    }
}

fn check_pb_spans(text: &str, spans: &[pb::Span], within: (usize, usize)) {
    let mut last = within.0;
    for s in spans {
        let (start, end) = (s.start as usize, s.end as usize);
        assert!(start >= last && end <= within.1, "span {start}..{end}");
        assert_eq!(text.get(start..end), Some(s.text.as_str()));
        check_pb_spans(text, &s.sentences, (start, end));
        last = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_bytes_cover_every_option() {
        let all = options_from_byte(0xff);
        assert!(all.sentences && all.evidence && all.line_mode == LineMode::Lines);
        assert_eq!(all.threshold, Some(1.0));
        assert_eq!(options_from_byte(0), TagOptions::default());
    }
}
