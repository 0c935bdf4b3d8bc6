//! The calls of `fgf soak`: each [`Kind`] of call, the statuses it may
//! get, how a caller ([`Mix`]) makes one, and the tally of what came back.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use tonic::Code;
use tonic::transport::Channel;

use fgf_grpc::client::{RawCodec, tagger_client};
use fgf_grpc::pb;
use fgf_grpc::status::code_name;

use super::{KindTally, SoakParams};

/// A kind of call in the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A ~10 KB document with random options.
    Normal,
    /// Half the server's size limit.
    Large,
    /// Just over the size limit: INVALID_ARGUMENT.
    Oversized,
    Empty,
    /// Control chars, NULs, U+FFFD, random code points.
    Binary,
    /// Granularity 9: INVALID_ARGUMENT.
    BadOptions,
    /// Bytes that are not a TagRequest: INTERNAL (gRPC's code for a
    /// request that does not parse).
    Malformed,
    /// A normal document with a 1 ms deadline.
    Impatient,
    /// A TagStream of five documents, one of them oversized.
    Stream,
    Segment,
    /// A document inside a TagStream (not picked on its own).
    StreamDocument,
}

impl Kind {
    const WEIGHTED: [(Kind, u32); 10] = [
        (Kind::Normal, 40),
        (Kind::Large, 1),
        (Kind::Oversized, 3),
        (Kind::Empty, 5),
        (Kind::Binary, 10),
        (Kind::BadOptions, 5),
        (Kind::Malformed, 10),
        (Kind::Impatient, 10),
        (Kind::Stream, 6),
        (Kind::Segment, 10),
    ];

    pub(super) fn pick(rng: &mut Rng) -> Kind {
        let total: u32 = Self::WEIGHTED.iter().map(|(_, w)| w).sum();
        let mut r = (rng.next() % u64::from(total)) as u32;
        for (kind, w) in Self::WEIGHTED {
            if r < w {
                return kind;
            }
            r -= w;
        }
        Kind::Normal
    }

    /// Whether `code` is a right answer to this kind of call.
    pub fn expects(self, code: Code) -> bool {
        match self {
            Kind::Normal | Kind::Empty | Kind::Binary | Kind::Segment => code == Code::Ok,
            // Large documents may pass the server's --max-inflight-bytes.
            Kind::Large => matches!(code, Code::Ok | Code::ResourceExhausted),
            Kind::Oversized | Kind::BadOptions => code == Code::InvalidArgument,
            // Not protobuf: INTERNAL; text not UTF-8: INVALID_ARGUMENT.
            Kind::Malformed => matches!(code, Code::Internal | Code::InvalidArgument),
            Kind::Impatient => {
                matches!(code, Code::Ok | Code::DeadlineExceeded | Code::Cancelled)
            }
            // The stream itself; its documents are checked one by one.
            Kind::Stream => code == Code::Ok,
            Kind::StreamDocument => {
                matches!(
                    code,
                    Code::Ok | Code::InvalidArgument | Code::ResourceExhausted
                )
            }
        }
    }
}

/// xorshift64*: a small, seeded, dependency-free generator.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Per-kind tallies shared by the callers.
#[derive(Default)]
pub(super) struct Tally(pub(super) Mutex<BTreeMap<Kind, KindTally>>);

impl Tally {
    pub(super) fn record(&self, kind: Kind, code: Code, expected: bool) {
        let mut map = self.0.lock().expect("tally");
        let t = map.entry(kind).or_default();
        t.calls += 1;
        *t.statuses.entry(code_name(code).to_string()).or_default() += 1;
        if !expected {
            t.unexpected += 1;
        }
    }
}

/// Everything a caller needs to make calls of any kind.
pub(super) struct Mix<'a> {
    pub(super) params: &'a SoakParams,
    /// Half the server's size limit.
    pub(super) large: String,
    /// Just over the server's size limit.
    pub(super) oversized: String,
}

impl Mix<'_> {
    pub(super) fn request<T>(&self, message: T) -> tonic::Request<T> {
        fgf_grpc::auth::request_with(message, self.params.auth_token.as_deref())
    }

    pub(super) fn normal(&self, rng: &mut Rng) -> pb::TagRequest {
        let docs = &self.params.documents;
        let bits = rng.next();
        pb::TagRequest {
            id: format!("soak-{}", bits % 100_000),
            text: docs[(bits >> 20) as usize % docs.len()].clone(),
            granularity: (bits & 1) as i32 + 1,
            line_mode: ((bits >> 1) & 1) as i32,
            include_evidence: bits & 4 != 0,
            ..Default::default()
        }
    }

    /// The documents repeated to `bytes` (cut back to a char boundary).
    pub(super) fn sized(documents: &[String], bytes: usize) -> String {
        let mut text = String::with_capacity(bytes + 16);
        for doc in documents.iter().cycle() {
            if text.len() >= bytes {
                break;
            }
            text.push_str(doc);
        }
        while text.len() > bytes {
            text.pop();
        }
        text
    }

    pub(super) fn binary(rng: &mut Rng) -> String {
        (0..rng.next() % 4000)
            .map(|_| {
                let r = rng.next();
                match r % 4 {
                    0 => char::from((r >> 8) as u8 % 32),
                    1 => '\u{fffd}',
                    _ => char::from_u32((r >> 8) as u32 % 0x11_0000).unwrap_or('\u{0}'),
                }
            })
            .collect()
    }

    /// Makes one call of `kind` on `channel` and records the outcome.
    pub(super) async fn call(&self, kind: Kind, channel: &Channel, rng: &mut Rng, tally: &Tally) {
        let mut client = tagger_client(channel.clone());
        let tag = |req: pb::TagRequest| {
            let mut client = client.clone();
            let request = self.request(req);
            async move {
                client
                    .tag(request)
                    .await
                    .err()
                    .map_or(Code::Ok, |s| s.code())
            }
        };
        let code = match kind {
            Kind::Normal => tag(self.normal(rng)).await,
            Kind::Large => {
                tag(pb::TagRequest {
                    text: self.large.clone(),
                    ..Default::default()
                })
                .await
            }
            Kind::Oversized => {
                tag(pb::TagRequest {
                    text: self.oversized.clone(),
                    ..Default::default()
                })
                .await
            }
            Kind::Empty => tag(pb::TagRequest::default()).await,
            Kind::Binary => {
                tag(pb::TagRequest {
                    text: Self::binary(rng),
                    ..Default::default()
                })
                .await
            }
            Kind::BadOptions => {
                let mut req = self.normal(rng);
                req.granularity = 9;
                tag(req).await
            }
            Kind::Malformed => {
                // Field 2 (text) with a length running past the end, or
                // with bytes that are not UTF-8.
                let body = if rng.next().is_multiple_of(2) {
                    vec![0x12, 0x7f, 0x41, 0x42]
                } else {
                    vec![0x12, 0x03, 0xff, 0xfe, 0xfd]
                };
                let mut grpc = tonic::client::Grpc::new(channel.clone());
                match grpc.ready().await {
                    Ok(()) => grpc
                        .unary::<Vec<u8>, Vec<u8>, _>(
                            self.request(body),
                            tonic::codegen::http::uri::PathAndQuery::from_static(
                                "/fgf.v1.Tagger/Tag",
                            ),
                            RawCodec,
                        )
                        .await
                        .err()
                        .map_or(Code::Ok, |s| s.code()),
                    Err(_) => Code::Unavailable,
                }
            }
            Kind::Impatient => {
                let mut request = self.request(self.normal(rng));
                request.set_timeout(Duration::from_millis(1));
                client
                    .tag(request)
                    .await
                    .err()
                    .map_or(Code::Ok, |s| s.code())
            }
            Kind::Stream | Kind::StreamDocument => self.stream(&mut client, rng, tally).await,
            Kind::Segment => {
                let text = self.normal(rng).text;
                client
                    .segment(self.request(pb::SegmentRequest { text }))
                    .await
                    .err()
                    .map_or(Code::Ok, |s| s.code())
            }
        };
        tally.record(kind, code, kind.expects(code));
    }

    /// Five documents, the third oversized; each answer is checked here
    /// and the stream's own status returned.
    pub(super) async fn stream(
        &self,
        client: &mut fgf_grpc::pb::tagger_client::TaggerClient<Channel>,
        rng: &mut Rng,
        tally: &Tally,
    ) -> Code {
        let mut docs: Vec<pb::TagRequest> = (0..5).map(|_| self.normal(rng)).collect();
        docs[2].text = self.oversized.clone();
        let ids: Vec<String> = (0..5).map(|i| format!("s{i}")).collect();
        for (d, id) in docs.iter_mut().zip(&ids) {
            d.id = id.clone();
        }
        let outbound = tokio_stream::iter(docs);
        let mut inbound = match client.tag_stream(self.request(outbound)).await {
            Ok(r) => r.into_inner(),
            Err(s) => return s.code(),
        };
        let mut answered = 0;
        loop {
            match inbound.message().await {
                Ok(Some(resp)) => {
                    let code = resp.error.as_ref().map_or(Code::Ok, |e| Code::from(e.code));
                    let want = if answered == 2 {
                        Code::InvalidArgument
                    } else {
                        Code::Ok
                    };
                    let in_order = ids.get(answered) == Some(&resp.id);
                    tally.record(Kind::StreamDocument, code, code == want && in_order);
                    answered += 1;
                }
                Ok(None) => break,
                Err(s) => return s.code(),
            }
        }
        if answered == ids.len() {
            Code::Ok
        } else {
            // A stream that ended early dropped documents.
            Code::DataLoss
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_picked() {
        let mut rng = Rng(7);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..10_000 {
            seen.insert(Kind::pick(&mut rng));
        }
        assert_eq!(seen.len(), Kind::WEIGHTED.len());
    }

    #[test]
    fn binary_text_is_valid_utf8_with_controls() {
        let mut rng = Rng(3);
        let text: String = (0..5).map(|_| Mix::binary(&mut rng)).collect();
        assert!(text.chars().any(|c| c.is_control()));
        assert!(text.contains('\u{fffd}'));
    }
}
