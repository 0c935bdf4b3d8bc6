//! TLS and mutual TLS against the real server binary, with certificates
//! made for the test (rcgen).

use crate::common::TestServer;
use fgf_grpc::pb;
use fgf_grpc::pb::tagger_client::TaggerClient;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

struct Pki {
    dir: tempfile::TempDir,
    ca_pem: String,
    client_cert: String,
    client_key: String,
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_pem = ca_params.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf = |names: Vec<String>| {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = leaf(vec!["localhost".to_string()]);
    let (client_cert, client_key) = leaf(vec!["fgf-client".to_string()]);
    std::fs::write(dir.path().join("ca.pem"), &ca_pem).unwrap();
    std::fs::write(dir.path().join("server.pem"), server_cert).unwrap();
    std::fs::write(dir.path().join("server.key"), server_key).unwrap();
    Pki {
        dir,
        ca_pem,
        client_cert,
        client_key,
    }
}

/// A server with the test PKI's certificate, and mutual TLS if asked.
fn start_tls(pki: &Pki, mutual: bool) -> TestServer {
    let args = tls_args(pki, mutual);
    TestServer::start(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

async fn tag_over_tls(addr: &str, tls: ClientTlsConfig) -> Result<pb::TagResponse, String> {
    let channel = Endpoint::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(tls)
        .map_err(|e| e.to_string())?
        .connect()
        .await
        .map_err(|e| format!("{e:?}"))?;
    TaggerClient::new(channel)
        .tag(pb::TagRequest {
            id: "tls".into(),
            text: "推行“一网通办”。".into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
        .map_err(|s| format!("{s:?}"))
}

#[tokio::test]
async fn tls_serves_and_plaintext_is_refused() {
    let pki = pki();
    let server = start_tls(&pki, false);
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca_pem))
        .domain_name("localhost");
    let resp = tag_over_tls(&server.addr, tls).await.expect("TLS call");
    assert_eq!(resp.id, "tls");
    // A plaintext client gets nowhere.
    let plain = Endpoint::from_shared(server.url()).unwrap().connect().await;
    if let Ok(channel) = plain {
        let r = TaggerClient::new(channel)
            .tag(pb::TagRequest::default())
            .await;
        assert!(r.is_err());
    }
}

/// Args of a TLS server with the test PKI's certificate (mutual if asked).
fn tls_args(pki: &Pki, mutual: bool) -> Vec<String> {
    let p = |f: &str| pki.dir.path().join(f).to_str().unwrap().to_string();
    let mut args = vec![
        "--tls-cert".to_string(),
        p("server.pem"),
        "--tls-key".to_string(),
        p("server.key"),
    ];
    if mutual {
        args.extend(["--tls-client-ca".to_string(), p("ca.pem")]);
    }
    args
}

#[tokio::test]
async fn a_failed_handshake_is_logged_with_the_peer_and_the_reason() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let pki = pki();
    let args = tls_args(&pki, false);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (server, log) = TestServer::start_logged(&args, "warn");
    // Plain HTTP/2 (the connection preface and an empty SETTINGS frame) to
    // the TLS port: the server cannot make a TLS handshake of it.
    let mut plain = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    let peer = plain.local_addr().unwrap().to_string();
    plain
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    // The server answers (a TLS alert, if anything) and closes.
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer).await;
    let text = log.wait_for(&["TLS handshake failed", &peer]);
    let line = text
        .lines()
        .find(|l| l.contains("TLS handshake failed") && l.contains(&peer))
        .unwrap_or_else(|| panic!("no handshake line for {peer} in:\n{text}"));
    assert!(line.contains("WARN"), "{line}");
    // The reason rustls gave (a plaintext client sends no TLS record).
    assert!(line.contains("reason="), "{line}");

    // A TLS client works on the same server afterwards.
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca_pem))
        .domain_name("localhost");
    assert_eq!(tag_over_tls(&server.addr, tls).await.unwrap().id, "tls");
}

#[tokio::test]
async fn a_client_without_a_certificate_is_logged_by_a_mutual_tls_server() {
    let pki = pki();
    let args = tls_args(&pki, true);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (server, log) = TestServer::start_logged(&args, "warn");
    let base = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca_pem))
        .domain_name("localhost");
    assert!(tag_over_tls(&server.addr, base).await.is_err());
    let text = log.wait_for(&["TLS handshake failed", "certificate"]);
    assert!(
        text.lines()
            .any(|l| l.contains("TLS handshake failed") && l.contains("peer=127.0.0.1:")),
        "{text}"
    );
}

#[tokio::test]
async fn mutual_tls_needs_a_client_certificate_from_the_ca() {
    let pki = pki();
    let server = start_tls(&pki, true);
    let base = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca_pem))
        .domain_name("localhost");
    assert!(
        tag_over_tls(&server.addr, base.clone()).await.is_err(),
        "a client without a certificate was let in"
    );
    let with_cert = base.identity(Identity::from_pem(&pki.client_cert, &pki.client_key));
    let resp = tag_over_tls(&server.addr, with_cert)
        .await
        .expect("mTLS call");
    assert_eq!(resp.id, "tls");
}

#[tokio::test]
async fn fgf_tag_talks_to_a_tls_server_with_its_ca() {
    let pki = pki();
    let p = |f: &str| pki.dir.path().join(f).to_str().unwrap().to_string();
    let server = start_tls(&pki, false);
    let port = server.addr.rsplit(':').next().unwrap().to_string();
    let input = pki.dir.path().join("docs.jsonl");
    std::fs::write(&input, "{\"id\":\"a\",\"text\":\"推行“一网通办”。\"}\n").unwrap();
    let out = pki.dir.path().join("out.jsonl");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_fgf"))
        .args([
            "tag",
            input.to_str().unwrap(),
            "--server",
            &format!("https://localhost:{port}"),
            "--tls-ca",
            &p("ca.pem"),
            "--out",
            out.to_str().unwrap(),
        ])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(std::fs::read_to_string(&out).unwrap().contains("fu.online"));
}
