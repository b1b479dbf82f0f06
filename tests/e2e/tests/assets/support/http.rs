//! A one-request HTTP listener on 127.0.0.1:0 that records what a shell step sent and answers
//! with a chosen status, for running the Jenkins jobs' `curl` calls for real.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One request as received.
#[derive(Debug)]
pub struct Recorded {
    /// Request line, e.g. `POST /v1/products/micro-gw/sync HTTP/1.1`.
    pub request_line: String,
    /// Header lines, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body bytes as text.
    pub body: String,
}

impl Recorded {
    /// First header of that (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Binds 127.0.0.1:0; returns the base URL and a handle yielding the single request it serves,
/// or `None` when nobody connected within 30 s.
pub fn serve_once(status: u16, body: &'static str) -> (String, JoinHandle<Option<Recorded>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.set_nonblocking(true).expect("nonblocking");
    let base = format!("http://{}", listener.local_addr().expect("local addr"));
    let handle = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if Instant::now() > deadline {
                        return None;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        stream.set_nonblocking(false).expect("blocking");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut request_line = String::new();
        reader.read_line(&mut request_line).expect("request line");
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("header line");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (n, v) = line.split_once(':').expect("header has a colon");
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
        let len: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map_or(0, |(_, v)| v.parse().expect("content-length"));
        let mut buf = vec![0; len];
        reader.read_exact(&mut buf).expect("body");
        // One write of the whole response: a client that reads only the status line (the helm
        // test pod's bash) closes its end at once, and a later write would meet a reset.
        let response = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut stream = stream;
        match stream.write_all(response.as_bytes()) {
            Ok(()) => {}
            // The client may hang up once it has what it needs; the request is recorded anyway.
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => {}
            Err(e) => panic!("write response: {e}"),
        }
        Some(Recorded {
            request_line: request_line.trim_end().to_owned(),
            headers,
            body: String::from_utf8(buf).expect("UTF-8 body"),
        })
    });
    (base, handle)
}
