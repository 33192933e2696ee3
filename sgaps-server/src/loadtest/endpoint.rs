//! Where the server under test is: its WebSocket URL as given, the REST base derived
//! from it, and the few REST reads a load test needs (metrics counters, frame records).

use std::time::Duration;

use anyhow::{bail, Context};
use url::Url;

const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Endpoint {
    /// The socket URL, with `?token=` when a token is given.
    pub ws_url: String,
    /// `http(s)://host:port`, for `/api`.
    http_base: String,
    token: Option<String>,
    host: String,
    port: u16,
}

/// The two server counters a load test compares before and after.
#[derive(Debug, Clone, Copy)]
pub struct Counters {
    pub reconstructed: u64,
    pub skipped: u64,
}

impl Endpoint {
    /// Checks `url` (`ws://HOST:PORT/PATH` or `wss://...`) and derives the REST base.
    pub fn parse(url: &str, token: Option<String>) -> anyhow::Result<Endpoint> {
        let expected = "expected ws://HOST:PORT/ws/stream";
        let mut ws = Url::parse(url).with_context(|| format!("bad --url `{url}`: {expected}"))?;
        let http_scheme = match ws.scheme() {
            "ws" => "http",
            "wss" => "https",
            other => bail!("bad --url `{url}`: the scheme is `{other}`; {expected}"),
        };
        let host = ws.host_str().with_context(|| format!("bad --url `{url}`: no host; {expected}"))?.to_string();
        let port = ws.port_or_known_default().expect("ws and wss have default ports");
        let mut http = ws.clone();
        http.set_scheme(http_scheme).expect("ws -> http keeps a special scheme");
        http.set_path("");
        http.set_query(None);
        if let Some(token) = &token {
            ws.query_pairs_mut().append_pair("token", token);
        }
        Ok(Endpoint {
            ws_url: ws.to_string(),
            http_base: http.as_str().trim_end_matches('/').to_string(),
            token,
            host,
            port,
        })
    }

    /// The port, when the server runs on this machine (then /proc can find it).
    pub fn local_port(&self) -> Option<u16> {
        let local = self.host == "localhost"
            || self.host.trim_matches(|c| c == '[' || c == ']').parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        local.then_some(self.port)
    }

    /// GET `path` under the REST base, with the bearer token when one is given.
    fn get(&self, path: &str) -> anyhow::Result<String> {
        let url = format!("{}{path}", self.http_base);
        let mut request = ureq::get(&url).timeout(HTTP_TIMEOUT);
        if let Some(token) = &self.token {
            request = request.set("Authorization", &format!("Bearer {token}"));
        }
        match request.call() {
            Ok(response) => response.into_string().with_context(|| format!("reading the body of GET {url}")),
            Err(ureq::Error::Status(401, _)) => {
                bail!("GET {url}: 401 Unauthorized; pass the server's server.auth_token with --token")
            }
            Err(ureq::Error::Status(code, response)) => {
                bail!("GET {url}: HTTP {code} {}", response.into_string().unwrap_or_default())
            }
            Err(ureq::Error::Transport(e)) => bail!("cannot reach the server: {e}; is `sgaps serve` running there?"),
        }
    }

    /// Frames reconstructed and skipped so far, from `/api/metrics`.
    pub fn counters(&self) -> anyhow::Result<Counters> {
        let text = self.get("/api/metrics")?;
        Ok(Counters {
            reconstructed: counter(&text, "sgaps_frames_reconstructed_total")?,
            skipped: counter(&text, "sgaps_frames_skipped_total")?,
        })
    }

    /// `latency_ms` (receipt to reconstruction, measured by the server) of every
    /// reconstructed frame of a session, from `/api/sessions/{id}/frames`.
    pub fn frame_latencies(&self, session_id: &str) -> anyhow::Result<Vec<f64>> {
        const PAGE: usize = 1000;
        let mut latencies = Vec::new();
        let mut offset = 0;
        loop {
            let text = self.get(&format!("/api/sessions/{session_id}/frames?offset={offset}&limit={PAGE}"))?;
            let page: serde_json::Value = serde_json::from_str(&text).context("/frames did not return JSON")?;
            let frames = page["frames"].as_array().context("/frames returned no `frames` list")?;
            latencies.extend(frames.iter().filter_map(|f| f["latency_ms"].as_f64()));
            offset += frames.len();
            if frames.is_empty() || offset >= page["total"].as_u64().unwrap_or(0) as usize {
                return Ok(latencies);
            }
        }
    }
}

/// The value of an unlabelled counter in Prometheus text.
fn counter(metrics: &str, name: &str) -> anyhow::Result<u64> {
    let line = metrics
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .with_context(|| format!("/api/metrics has no `{name}`; is this an sgaps server?"))?;
    let value: f64 = line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).with_context(|| format!("bad metric line `{line}`"))?;
    Ok(value as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_base_and_token_come_from_the_socket_url() {
        let e = Endpoint::parse("ws://127.0.0.1:9000/ws/stream", Some("a b&c".into())).unwrap();
        assert_eq!(e.http_base, "http://127.0.0.1:9000");
        assert_eq!(e.ws_url, "ws://127.0.0.1:9000/ws/stream?token=a+b%26c");
        assert_eq!(e.local_port(), Some(9000));
        let e = Endpoint::parse("wss://example.org/ws/stream", None).unwrap();
        assert_eq!((e.http_base.as_str(), e.local_port()), ("https://example.org", None));
        assert_eq!(Endpoint::parse("ws://[::1]:8000/ws/stream", None).unwrap().local_port(), Some(8000));
    }

    #[test]
    fn bad_urls_say_what_is_expected() {
        for url in ["http://127.0.0.1:8000/ws/stream", "127.0.0.1:8000", "ws://"] {
            let message = Endpoint::parse(url, None).err().unwrap().to_string();
            assert!(message.contains("bad --url") && message.contains("ws://HOST:PORT"), "{url}: {message}");
        }
    }

    #[test]
    fn counters_are_read_from_prometheus_text() {
        let text = "# HELP sgaps_frames_skipped_total x\nsgaps_frames_skipped_total 7\nsgaps_frames_skipped_totalx 9\n";
        assert_eq!(counter(text, "sgaps_frames_skipped_total").unwrap(), 7);
        assert!(counter(text, "sgaps_frames_reconstructed_total").unwrap_err().to_string().contains("no `sgaps_frames"));
    }
}
