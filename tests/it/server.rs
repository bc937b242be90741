//! The HTTP server's limits, from outside over raw TCP: slow and idle connections are
//! closed, a paused body is refused, the connection cap holds and recovers, oversized
//! targets and headers get problem bodies, and shutdown ends what is in flight within its
//! grace period.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{TestGateway, assert_problem};

/// Short deadlines, so the tests see them pass.
const LIMITS: &str = "[server]\nheader_timeout_seconds = 1\nbody_timeout_seconds = 1\nshutdown_grace_seconds = 1\n";
/// Longest a test waits for something the server must do on its own.
const BOUND: Duration = Duration::from_secs(20);

async fn connect(gw: &TestGateway) -> TcpStream {
    TcpStream::connect(gw.url.trim_start_matches("http://")).await.unwrap()
}

/// Reads until the server closes the connection; what it sent before.
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    let read = tokio::time::timeout(BOUND, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    });
    read.await.expect("the server never closed the connection");
    seen
}

#[tokio::test]
async fn slow_and_idle_connections_are_closed() {
    let gw = TestGateway::demo_with(LIMITS).await;
    // Headers that never end (the finding: `printf 'GET …'; sleep 600 | nc`).
    let mut slow = connect(&gw).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    until_closed(&mut slow).await;
    // A connection that never says anything.
    let mut silent = connect(&gw).await;
    until_closed(&mut silent).await;
    // A keep-alive connection after its answer, idle.
    let mut idle = connect(&gw).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let answered = until_closed(&mut idle).await;
    assert!(answered.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answered));
}

#[tokio::test]
async fn a_body_that_pauses_too_long_is_refused() {
    let gw = TestGateway::demo_with(LIMITS).await;
    let mut stream = connect(&gw).await;
    let head = format!(
        "POST /v1/pairings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{\"subject_ref\"",
        gw.token
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let answer = String::from_utf8(until_closed(&mut stream).await).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("application/problem+json") && answer.contains("malformed_body"), "{answer}");
}

#[tokio::test]
async fn the_connection_cap_holds_and_frees_as_connections_close() {
    let gw = TestGateway::demo_with(&format!("{LIMITS}max_connections = 2\n")).await;
    let taken = [connect(&gw).await, connect(&gw).await];
    // A third client waits in the backlog until the deadline frees a slot, then is served.
    let ready = tokio::time::timeout(BOUND, gw.get("/healthz").send()).await.expect("never served");
    assert_eq!(ready.unwrap().status(), 200);
    // It was served only once the server had closed a held connection: without the cap it
    // would have been answered at once, while both were still open.
    let closed = taken.iter().filter(|held| matches!(held.try_read(&mut [0u8; 1]), Ok(0))).count();
    assert!(closed >= 1, "served while both held connections were still open");
}

#[tokio::test]
async fn oversized_targets_and_headers_get_problem_bodies() {
    let gw = TestGateway::demo().await;
    let long = format!("/healthz?{}", "a".repeat(9 * 1024));
    assert_problem(gw.get(&long).send().await.unwrap(), 414, "uri_too_long").await;
    let big = "b".repeat(40 * 1024);
    assert_problem(gw.get("/healthz").header("x-big", big).send().await.unwrap(), 431, "headers_too_large").await;
    assert_eq!(gw.get("/healthz").send().await.unwrap().status(), 200);
}

/// Requests hyper cannot parse (the finding: a raw NUL got a bare 400): a problem body
/// still, with a request id, and the connection closed after it.
#[tokio::test]
async fn unreadable_requests_get_problem_bodies() {
    let gw = TestGateway::demo().await;
    let many_headers: String = (0..120).map(|i| format!("x-h{i}: v\r\n")).collect();
    let broken: [&[u8]; 4] = [
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
        b"GET /he\x00althz HTTP/1.1\r\nHost: x\r\n\r\n",
        b"G(T /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n").leak().as_bytes(),
    ];
    for (request, status, code) in [
        (broken[0], 400, "malformed_request"),
        (broken[1], 400, "malformed_request"),
        (broken[2], 400, "malformed_request"),
        (broken[3], 431, "headers_too_large"),
    ] {
        let mut stream = connect(&gw).await;
        stream.write_all(request).await.unwrap();
        let answer = String::from_utf8(until_closed(&mut stream).await).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{answer}");
        assert!(head.contains("content-type: application/problem+json") && head.contains("x-request-id: "), "{answer}");
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            (problem["error_code"].as_str(), problem["status"].as_u64()),
            (Some(code), Some(status)),
            "{answer}"
        );
    }
    // After an answered request on the same connection, the answer arrives whole and
    // nothing after it is rewritten (it could be a body's tail): hyper's bare 400 ends it.
    let mut stream = connect(&gw).await;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /\x00 HTTP/1.1\r\n\r\n").await.unwrap();
    let answer = String::from_utf8(until_closed(&mut stream).await).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK") && answer.contains("{\"status\":\"ok\"}HTTP/1.1 400"), "{answer}");
    assert!(answer.ends_with("\r\n\r\n") && !answer.contains("malformed_request"), "{answer}");
}

#[tokio::test]
async fn shutdown_ends_requests_in_flight_within_the_grace_period() {
    let gw = TestGateway::demo_with(&LIMITS.replace("body_timeout_seconds = 1", "body_timeout_seconds = 600")).await;
    // A request whose body never completes would hold the server forever.
    let mut stuck = connect(&gw).await;
    let head = format!(
        "POST /v1/pairings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{",
        gw.token
    );
    stuck.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopped = tokio::time::timeout(BOUND, gw.stop()).await.expect("the server outlived its grace period");
    stopped.unwrap();
    let answer = until_closed(&mut stuck).await;
    assert!(!answer.starts_with(b"HTTP/1.1 201"), "the cut request did not complete");
}
