//! The `fake-spinnaker` binary serves the stand-in with pipelines from files.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use testkit::spinnaker::sample::deploy_pipeline;

#[tokio::test]
async fn binary_serves_pipelines_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.json");
    let p = deploy_pipeline("micro-gw", "dev", "microgateway", "chart", false);
    std::fs::write(&file, serde_json::to_vec(&p).unwrap()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-spinnaker"))
        .args(["--listen", "127.0.0.1:0", "--pipelines"])
        .arg(&file)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let line = tokio::time::timeout(std::time::Duration::from_secs(20), line)
        .await
        .expect("the binary prints its URL")
        .unwrap()
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    let gate = spinnaker_client::Client::builder(&url).build().unwrap();
    let result = gate.pipeline_configs("micro-gw").await;
    child.kill().unwrap();
    child.wait().unwrap();
    let configs = result.unwrap();
    assert_eq!(configs.len(), 1);
    assert_eq!(configs[0].name, "micro-gw-deploy-dev");
}
