//! Connecting to an fgf server as a client.
//!
//! A thin layer over the generated `TaggerClient`: it sets the limits a
//! client of this service needs (responses carry every span's text, so they
//! can be larger than tonic's 4 MiB default) and turns a bad address into an
//! error that names it.

use std::time::Duration;

use anyhow::{Context, Result};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::pb::tagger_client::TaggerClient;

/// Largest response a client accepts.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// An endpoint for `url` (e.g. `http://127.0.0.1:50051`). With `tls_ca`
/// (a PEM CA certificate), an `https://` server is verified against it.
pub fn endpoint(url: &str, tls_ca: Option<&[u8]>) -> Result<Endpoint> {
    let mut endpoint = Endpoint::from_shared(url.to_string())
        .with_context(|| format!("{url:?} is not a valid server URL"))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true);
    if let Some(ca) = tls_ca {
        endpoint = endpoint
            .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca)))
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
