//! TLS and mutual TLS against the real server binary, with certificates
//! made for the test (rcgen).

mod common;

use common::TestServer;
use fgf_tagger::pb;
use fgf_tagger::pb::tagger_client::TaggerClient;
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
    let p = |f: &str| pki.dir.path().join(f).to_str().unwrap().to_string();
    let (cert, key, ca) = (p("server.pem"), p("server.key"), p("ca.pem"));
    let mut args = vec!["--tls-cert", cert.as_str(), "--tls-key", key.as_str()];
    if mutual {
        args.extend(["--tls-client-ca", ca.as_str()]);
    }
    TestServer::start(&args)
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
