//! Model hot reload: SIGHUP and the ReloadModel admin rpc, under load and
//! with a corrupt file.

use std::path::Path;
use std::time::Duration;

use crate::common::{REPLY, TestServer};
use fgf_grpc::pb;
use tonic::Code;

/// Writes the committed model to `path` under another version name,
/// atomically (a reload never sees half a file).
fn write_model(path: &Path, version: &str) {
    let mut model: serde_json::Value =
        serde_json::from_slice(&std::fs::read("models/fgf.model").unwrap()).unwrap();
    model["version"] = serde_json::Value::String(version.to_string());
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(&model).unwrap()).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn request(id: &str, text: &str) -> pb::TagRequest {
    pb::TagRequest {
        id: id.to_string(),
        text: text.to_string(),
        ..Default::default()
    }
}

async fn version_now(server: &TestServer) -> String {
    let mut client = server.client().await;
    client
        .tag(request("v", "正文。"))
        .await
        .unwrap()
        .into_inner()
        .model_version
}

#[tokio::test]
async fn sighup_during_500_calls_loses_none_and_switches_versions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fgf.model");
    write_model(&path, "fgf-test-a");
    // A queue long enough for all 500, on one connection (load shedding is
    // tested elsewhere).
    let server = TestServer::start(&[
        "--model",
        path.to_str().unwrap(),
        "--max-queue",
        "1000",
        "--max-conn-calls",
        "1000",
    ]);
    let client = server.client().await;
    let text = REPLY.repeat(3);
    let calls: Vec<_> = (0..500)
        .map(|i| {
            let mut client = client.clone();
            let req = request(&format!("c{i}"), &text);
            tokio::spawn(async move { client.tag(req).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(30)).await;
    write_model(&path, "fgf-test-b");
    server.signal("-HUP");
    let mut versions = std::collections::BTreeSet::new();
    for call in calls {
        let resp = call.await.unwrap().expect("no call lost to the reload");
        versions.insert(resp.into_inner().model_version);
    }
    assert!(
        versions
            .iter()
            .all(|v| v == "fgf-test-a" || v == "fgf-test-b"),
        "{versions:?}"
    );
    // The reload finishes shortly; new calls see the new model.
    let mut seen = String::new();
    for _ in 0..100 {
        seen = version_now(&server).await;
        if seen == "fgf-test-b" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, "fgf-test-b");
}

#[tokio::test]
async fn a_corrupt_file_leaves_the_old_model_serving() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fgf.model");
    write_model(&path, "fgf-test-a");
    let token = dir.path().join("token");
    std::fs::write(&token, "admin-token").unwrap();
    let server = TestServer::start(&[
        "--model",
        path.to_str().unwrap(),
        "--auth-token-file",
        token.to_str().unwrap(),
    ]);
    fn authed<T>(msg: T) -> tonic::Request<T> {
        let mut req = tonic::Request::new(msg);
        fgf_grpc::auth::authorize(&mut req, "admin-token").unwrap();
        req
    }
    let mut client = server.client().await;

    std::fs::write(&path, b"{ not a model").unwrap();
    server.signal("-HUP");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let err = client
        .reload_model(authed(pb::ReloadModelRequest {}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().contains("old one keeps serving"),
        "{}",
        err.message()
    );
    let resp = client
        .tag(authed(request("after", "推行“一网通办”。")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.model_version, "fgf-test-a");

    // Without the token the admin rpc is refused; with a good file it swaps.
    assert_eq!(
        client
            .reload_model(pb::ReloadModelRequest {})
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    write_model(&path, "fgf-test-c");
    let info = client
        .reload_model(authed(pb::ReloadModelRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.version, "fgf-test-c");
}

#[tokio::test]
async fn reload_rpc_is_refused_on_a_server_without_a_token() {
    let server = TestServer::start(&[]);
    let mut client = server.client().await;
    let err = client
        .reload_model(pb::ReloadModelRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}
