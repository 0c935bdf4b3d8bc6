//! The gRPC codec of `fgf.v1`: tonic-prost's, except for what a failed
//! decode answers.
//!
//! prost refuses a `string` field that is not UTF-8 with a decode error, and
//! tonic-prost maps every decode error to INTERNAL, which callers page on as
//! a server bug. Here the raw bytes of a message that failed are decoded
//! again into a hand-written message with `bytes` fields, to tell a bad
//! request (INVALID_ARGUMENT naming the field and the byte offset of its
//! first bad byte) from a message that is not protobuf at all (still
//! INTERNAL, as gRPC's status-code guide says).
//!
//! A TagStream must answer every document, but a decoder error ends a
//! tonic stream; so a TagRequest whose text is not UTF-8 decodes to a
//! request marked invalid ([`invalid_utf8_request`]), which the service
//! answers with a per-document INVALID_ARGUMENT (and unary Tag with that
//! status).
//!
//! Generated into the client and server code by `build.rs` (`codec_path`).

use std::marker::PhantomData;

use bytes::Buf;
use prost::Message;
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::ProstEncoder;

use crate::pb;

/// tonic-prost's codec with [`DecodeFailure`] deciding what a failed decode
/// answers.
#[derive(Debug, Clone)]
pub struct FgfCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for FgfCodec<T, U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<T, U> Codec for FgfCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + DecodeFailure + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = FgfDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::new(BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        FgfDecoder(PhantomData)
    }
}

/// Decodes `U` with prost; on failure asks [`DecodeFailure`].
#[derive(Debug)]
pub struct FgfDecoder<U>(PhantomData<U>);

impl<U: Message + Default + DecodeFailure> Decoder for FgfDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        let len = buf.remaining();
        // The message is one contiguous buffer; decode it in place so that
        // a failure can look at the same bytes again, without a copy.
        if buf.chunk().len() == len {
            let result = U::decode(buf.chunk()).or_else(|e| U::decode_failed(buf.chunk(), e));
            buf.advance(len);
            return result.map(Some);
        }
        let raw = buf.copy_to_bytes(len);
        U::decode(&raw[..])
            .or_else(|e| U::decode_failed(&raw, e))
            .map(Some)
    }

    fn buffer_settings(&self) -> BufferSettings {
        BufferSettings::default()
    }
}

/// What a message that prost could not decode becomes.
pub trait DecodeFailure: Sized {
    /// `raw` is the whole message. By default INTERNAL with prost's error,
    /// as tonic-prost answers.
    fn decode_failed(raw: &[u8], error: prost::DecodeError) -> Result<Self, Status> {
        let _ = raw;
        Err(Status::internal(error.to_string()))
    }
}

impl DecodeFailure for pb::TagResponse {}
impl DecodeFailure for pb::SegmentResponse {}
impl DecodeFailure for pb::ModelInfo {}
impl DecodeFailure for pb::GetModelInfoRequest {}
impl DecodeFailure for pb::ReloadModelRequest {}

/// TagRequest and SegmentRequest with their string fields as bytes.
#[derive(Clone, PartialEq, Message)]
struct LaxTextRequest {
    #[prost(bytes = "vec", tag = "1")]
    one: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    two: Vec<u8>,
    /// TagRequest.media_type.
    #[prost(bytes = "vec", tag = "10")]
    ten: Vec<u8>,
    /// TagRequest.file_name.
    #[prost(bytes = "vec", tag = "11")]
    eleven: Vec<u8>,
}

/// Where the first byte that is not UTF-8 is in `field`, if anywhere.
fn bad_utf8(name: &str, field: &[u8]) -> Option<String> {
    std::str::from_utf8(field).err().map(|e| {
        format!(
            "{name} is not valid UTF-8: the first bad byte is at byte offset {} of {name}; \
             send UTF-8 (convert GBK/GB18030 text first, or send the file's bytes as \
             TagRequest.content, which may be in any encoding)",
            e.valid_up_to()
        )
    })
}

impl DecodeFailure for pb::TagRequest {
    fn decode_failed(raw: &[u8], error: prost::DecodeError) -> Result<Self, Status> {
        let Ok(lax) = LaxTextRequest::decode(raw) else {
            return Err(Status::internal(error.to_string()));
        };
        let message = bad_utf8("text", &lax.two)
            .or_else(|| bad_utf8("id", &lax.one))
            .or_else(|| bad_utf8("media_type", &lax.ten))
            .or_else(|| bad_utf8("file_name", &lax.eleven));
        match message {
            Some(message) => Ok(invalid_utf8_request(
                String::from_utf8_lossy(&lax.one).into_owned(),
                message,
            )),
            None => Err(Status::internal(error.to_string())),
        }
    }
}

impl DecodeFailure for pb::SegmentRequest {
    fn decode_failed(raw: &[u8], error: prost::DecodeError) -> Result<Self, Status> {
        match LaxTextRequest::decode(raw)
            .ok()
            .and_then(|lax| bad_utf8("text", &lax.one))
        {
            Some(message) => Err(Status::invalid_argument(message)),
            None => Err(Status::internal(error.to_string())),
        }
    }
}

/// Marks a TagRequest that arrived with bytes that are not UTF-8: both
/// enums hold this value (which no valid request has) and `text` holds
/// the error message.
const INVALID_UTF8: i32 = i32::MIN;

/// A TagRequest standing for one that was not UTF-8: `id` (made UTF-8 with
/// replacement characters) and why.
pub fn invalid_utf8_request(id: String, message: String) -> pb::TagRequest {
    pb::TagRequest {
        id,
        text: message,
        granularity: INVALID_UTF8,
        line_mode: INVALID_UTF8,
        ..Default::default()
    }
}

/// If `req` stands for a request that was not UTF-8, why.
pub fn invalid_utf8_reason(req: &pb::TagRequest) -> Option<&str> {
    (req.granularity == INVALID_UTF8 && req.line_mode == INVALID_UTF8).then_some(req.text.as_str())
}
