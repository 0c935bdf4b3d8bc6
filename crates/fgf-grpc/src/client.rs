//! Connecting to an fgf server as a client.
//!
//! A thin layer over the generated `TaggerClient`: it sets the limits a
//! client of this service needs (responses carry every span's text, so they
//! can be larger than tonic's 4 MiB default) and turns a bad address into an
//! error that names it.

use std::time::Duration;

use anyhow::{Context, Result};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::pb::tagger_client::TaggerClient;

/// Largest response a client accepts.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// How a client verifies a TLS server and identifies itself to it.
#[derive(Debug, Clone, Default)]
pub struct ClientTls {
    /// PEM CA certificate that an `https://` server is verified against.
    pub ca: Option<Vec<u8>>,
    /// PEM client certificate and key, for servers that ask for one
    /// (mutual TLS, `fgf serve --tls-client-ca`).
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
}

/// An endpoint for `url` (e.g. `http://127.0.0.1:50051`). With `tls_ca`
/// (a PEM CA certificate), an `https://` server is verified against it.
pub fn endpoint(url: &str, tls_ca: Option<&[u8]>) -> Result<Endpoint> {
    endpoint_with(
        url,
        &ClientTls {
            ca: tls_ca.map(<[u8]>::to_vec),
            identity: None,
        },
    )
}

/// An endpoint for `url` with the TLS settings of `tls` (used for
/// `https://` URLs only).
pub fn endpoint_with(url: &str, tls: &ClientTls) -> Result<Endpoint> {
    let mut endpoint = Endpoint::from_shared(url.to_string())
        .with_context(|| format!("{url:?} is not a valid server URL"))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true);
    if tls.ca.is_some() || tls.identity.is_some() {
        let mut config = ClientTlsConfig::new();
        if let Some(ca) = &tls.ca {
            config = config.ca_certificate(Certificate::from_pem(ca));
        }
        if let Some((cert, key)) = &tls.identity {
            config = config.identity(Identity::from_pem(cert, key));
        }
        endpoint = endpoint
            .tls_config(config)
            .with_context(|| format!("TLS settings for {url}"))?;
    }
    Ok(endpoint)
}

/// Connects to `url` (e.g. `http://127.0.0.1:50051`).
pub async fn connect_channel(url: &str) -> Result<Channel> {
    connect_channel_with(url, None).await
}

/// Connects to `url`, verifying a TLS server against `tls_ca` when given.
pub async fn connect_channel_with(url: &str, tls_ca: Option<&[u8]>) -> Result<Channel> {
    endpoint(url, tls_ca)?
        .connect()
        .await
        .with_context(|| format!("cannot connect to {url}"))
}

/// A Tagger client on `channel` with the response limit raised.
pub fn tagger_client(channel: Channel) -> TaggerClient<Channel> {
    TaggerClient::new(channel).max_decoding_message_size(MAX_RESPONSE_BYTES)
}

/// A codec that sends and receives message bytes as they are, to talk to
/// the server below protobuf: the soak test and tests send malformed
/// messages with it through `tonic::client::Grpc`.
#[derive(Debug, Default, Clone, Copy)]
pub struct RawCodec;

/// Encoder of [`RawCodec`].
#[derive(Debug)]
pub struct RawEncoder;

/// Decoder of [`RawCodec`].
#[derive(Debug)]
pub struct RawDecoder;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl tonic::codec::Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        use bytes::BufMut;
        dst.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawDecoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Vec<u8>>, tonic::Status> {
        use bytes::Buf;
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}
