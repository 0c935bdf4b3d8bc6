//! Serving TLS with our own acceptor, so that a failed handshake is logged.
//!
//! tonic's built-in TLS (`Server::tls_config`) drops a failed handshake
//! with a debug line that names no peer (and transport libraries are kept
//! at warn), so a client speaking plaintext to a TLS port, or a client
//! without the certificate mutual TLS asks for, left no trace on the
//! server. Here each accepted connection is handshaken by rustls in its
//! own task; a failure or a handshake that takes over
//! [`HANDSHAKE_TIMEOUT`] is logged at warn with the peer's address and
//! the reason, and only finished TLS streams are handed to tonic (which
//! still sees them as TLS: the request extensions carry
//! `TlsConnectInfo` with the peer's address and certificates).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;

/// A handshake not finished in this time is dropped (and logged), so idle
/// or stalled connections do not pile up.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's certificate and key, and the client CA for mutual TLS.
#[derive(Clone)]
pub struct TlsSettings {
    acceptor: TlsAcceptor,
    mutual: bool,
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings")
            .field("mutual", &self.mutual)
            .finish_non_exhaustive()
    }
}

impl TlsSettings {
    /// From PEM: the certificate chain, its private key, and (mutual TLS)
    /// the CA that client certificates must be signed by. HTTP/2 is
    /// offered by ALPN.
    pub fn from_pem(cert: &[u8], key: &[u8], client_ca: Option<&[u8]>) -> Result<Self> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert)
            .collect::<Result<_, _>>()
            .context("reading the TLS certificate PEM")?;
        if chain.is_empty() {
            bail!("the TLS certificate file holds no PEM certificate");
        }
        let key = PrivateKeyDer::from_pem_slice(key)
            .context("reading the TLS private key PEM (PKCS#8, PKCS#1 or SEC1)")?;
        let builder = ServerConfig::builder();
        let builder = match client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                for c in CertificateDer::pem_slice_iter(ca) {
                    roots
                        .add(c.context("reading the client CA PEM")?)
                        .context("adding the client CA")?;
                }
                if roots.is_empty() {
                    bail!("the client CA file holds no PEM certificate");
                }
                builder.with_client_cert_verifier(
                    WebPkiClientVerifier::builder(roots.into())
                        .build()
                        .context("building the client certificate verifier")?,
                )
            }
        };
        let mut config = builder
            .with_single_cert(chain, key)
            .context("the TLS certificate and key do not make a server identity")?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            mutual: client_ca.is_some(),
        })
    }

    /// True when clients must present a certificate.
    pub fn is_mutual(&self) -> bool {
        self.mutual
    }
}

/// TLS connections accepted on `listener`, each handshaken in its own
/// task; failed handshakes are logged and dropped. Accepting stops when
/// the stream is dropped.
pub fn incoming(
    listener: TcpListener,
    tls: TlsSettings,
) -> ReceiverStream<std::io::Result<TlsStream<TcpStream>>> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = tx.closed() => return,
                a = listener.accept() => a,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little
                    // rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if let Err(e) = stream.set_nodelay(true) {
                tracing::warn!(error = %e, "could not set TCP_NODELAY");
            }
            let (acceptor, tx) = (tls.acceptor.clone(), tx.clone());
            tokio::spawn(async move {
                if let Some(stream) = handshake(&acceptor, stream, peer).await {
                    let _ = tx.send(Ok(stream)).await;
                }
            });
        }
    });
    ReceiverStream::new(rx)
}

/// The TLS handshake with `peer`; a failure is logged.
async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
) -> Option<TlsStream<TcpStream>> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(e)) => {
            tracing::warn!(%peer, reason = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::warn!(
                %peer,
                reason = %format!("no handshake within {}s", HANDSHAKE_TIMEOUT.as_secs()),
                "TLS handshake failed"
            );
            None
        }
    }
}
