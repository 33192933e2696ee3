//! The live dashboard in a real browser: headless Chromium (Debian's package) loads
//! `/` while a session streams, twice, and the pictures must show newer frames.

mod support;

use std::process::Command;
use std::time::Duration;

use support::*;

/// The page's DOM after its scripts ran for `budget_ms` of browser time.
fn dump_dom(url: &str, budget_ms: u32) -> String {
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", profile.path().display()),
            &format!("--virtual-time-budget={budget_ms}"),
            "--dump-dom",
            url,
        ])
        .output()
        .expect("chromium runs (scripts/setup.sh installs Debian's chromium)");
    assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// The frame id each picture of the first session card shows, by picture name.
fn shown_frames(dom: &str) -> Vec<(String, u64)> {
    let mut shown = Vec::new();
    for img in dom.split("<img").skip(1) {
        let tag = &img[..img.find('>').unwrap_or(img.len())];
        let attr = |name: &str| {
            let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
            Some(tag[start..start + tag[start..].find('"')?].to_string())
        };
        if let (Some(picture), Some(frame)) = (attr("data-picture"), attr("data-frame")) {
            shown.push((picture, frame.parse().unwrap()));
        }
    }
    shown
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_shows_live_pictures_that_update() {
    let server = TestServer::start(&[]);
    let url = server.ws("");
    let streaming = tokio::spawn(async move {
        let mut client = Client::connect(&url).await;
        let (_, coords) = client.start_session("default", [640, 480], true).await;
        for frame_id in 0..200 {
            client.send(frame_message(frame_id, &coords, frame_id % 2 == 0)).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    tokio::time::sleep(Duration::from_millis(800)).await;

    let page = server.http("/");
    let first = tokio::task::spawn_blocking({
        let page = page.clone();
        move || dump_dom(&page, 3000)
    })
    .await
    .unwrap();
    assert!(first.contains("SGAPS live sessions"), "the page loaded");
    assert!(first.contains("1 active session(s)"), "the session is listed:\n{first}");
    let before = shown_frames(&first);
    let pictures: Vec<&str> = before.iter().map(|(p, _)| p.as_str()).collect();
    for picture in ["reconstruction", "ground_truth", "importance", "samples"] {
        assert!(pictures.contains(&picture), "{picture} missing; shown: {before:?}");
    }

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = tokio::task::spawn_blocking(move || dump_dom(&page, 3000)).await.unwrap();
    let after = shown_frames(&second);
    let newest = |shown: &[(String, u64)]| shown.iter().find(|(p, _)| p == "reconstruction").map(|(_, f)| *f).unwrap();
    assert!(newest(&after) > newest(&before), "pictures did not update: {before:?} then {after:?}");
    streaming.abort();
}
