//! Starts the real `fgf serve` binary on a free port for integration tests.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use fgf_grpc::client;
use fgf_grpc::pb::tagger_client::TaggerClient;
use tonic::transport::Channel;

/// A running `fgf serve` child process; killed on drop.
pub struct TestServer {
    pub child: Child,
    pub addr: String,
}

impl TestServer {
    /// `fgf serve --addr 127.0.0.1:0 --model models/fgf.model <extra args>`,
    /// waiting for the "listening on" line.
    pub fn start(extra: &[&str]) -> Self {
        Self::start_at("127.0.0.1:0", extra)
    }

    /// As [`TestServer::start`], on a given address (to restart a server
    /// on the port it had).
    pub fn start_at(addr: &str, extra: &[&str]) -> Self {
        Self::spawn(addr, extra, "warn", Stdio::inherit())
    }

    /// As [`TestServer::start`] with `RUST_LOG=rust_log`, its stderr into
    /// a file that the returned [`ServerLog`] reads.
    pub fn start_logged(extra: &[&str], rust_log: &str) -> (Self, ServerLog) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("stderr.log");
        let file = std::fs::File::create(&path).expect("create stderr.log");
        let server = Self::spawn("127.0.0.1:0", extra, rust_log, file.into());
        (server, ServerLog { _dir: dir, path })
    }

    fn spawn(addr: &str, extra: &[&str], rust_log: &str, stderr: Stdio) -> Self {
        let model: &[&str] = if extra.contains(&"--model") {
            &[]
        } else {
            &["--model", "models/fgf.model"]
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_fgf"))
            .args(["serve", "--addr", addr])
            .args(model)
            .args(extra)
            .env("RUST_LOG", rust_log)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn fgf serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read listening line");
        let addr = line
            .trim()
            .strip_prefix("fgf listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Self { child, addr }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn channel(&self) -> Channel {
        client::connect_channel(&self.url())
            .await
            .expect("connect to test server")
    }

    pub async fn client(&self) -> TaggerClient<Channel> {
        client::tagger_client(self.channel().await)
    }

    /// Sends a signal (e.g. "-HUP") to the server.
    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        let exit = self.child.wait().expect("wait for server");
        std::mem::forget(self);
        exit
    }
}

/// The stderr of a server started with [`TestServer::start_logged`].
pub struct ServerLog {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
}

impl ServerLog {
    /// Everything written so far.
    pub fn read(&self) -> String {
        std::fs::read_to_string(&self.path).expect("read stderr.log")
    }

    /// Everything written once a line contains every one of `needles`
    /// (polled; gives up after a minute, returning what was written).
    pub fn wait_for(&self, needles: &[&str]) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let log = self.read();
            if log.lines().any(|l| needles.iter().all(|n| l.contains(n)))
                || std::time::Instant::now() > deadline
            {
                return log;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small reply document in the genre, written for the tests.
pub const REPLY: &str = "关于进一步优化我市政务服务的建议的答复\r\n\
\u{3000}\u{3000}• 发布时间：2022年04月12日\n\
周某某代表：\n\
\u{3000}\u{3000}您提出的《关于进一步优化我市政务服务的建议》收悉，现答复如下：\n\
一、推进政务服务“一网通办”\n\
\u{3000}\u{3000}依托省一体化政务服务平台，全市1386项政务服务事项实现全程网办，网办率达到92%，企业群众通过“掌上办”小程序即可办理社保、公积金等高频事项。\n\
\u{3000}\u{3000}全面推行“双随机、一公开”监管，市场监管、税务、生态环境等部门联合抽查，随机抽取检查对象和执法检查人员，抽查结果通过国家企业信用信息公示系统向社会公开。\r\n\
2022年5月18日\r";

/// A minimal Word file: `word/document.xml` with one `<w:p>` per line.
pub fn docx(lines: &[&str]) -> Vec<u8> {
    use std::io::Write;
    let body: String = lines
        .iter()
        .map(|l| format!("<w:p><w:r><w:t>{l}</w:t></w:r></w:p>"))
        .collect();
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><w:document \
         xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>{body}\
         </w:body></w:document>"
    );
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("word/document.xml", options).unwrap();
    zip.write_all(xml.as_bytes()).unwrap();
    zip.finish().unwrap().into_inner()
}
