//! hyper answers a request it cannot parse (a raw NUL in a header, a malformed request
//! line, more header lines than it takes) itself, before any service runs, with a bare
//! status and an empty body. This wrapper around the connection recognises exactly that
//! automatic answer when it is the first thing written on a connection and sends a problem
//! body in its place. Only there: after a first answer, bytes that look like hyper's could
//! be the tail of a body someone else chose (a blob at the relay), and a body must never
//! be rewritten, so a malformed request after an answered one on the same connection keeps
//! hyper's bare status.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::protocol::{ErrorCode, Problem};

/// The connection's writes, with hyper's automatic error answers replaced.
pub(crate) struct ProblemBodies<T> {
    inner: T,
    /// A replacement still being written, and how much of it is out.
    pending: Vec<u8>,
    written: usize,
    /// Whether anything was written on this connection yet.
    wrote: bool,
}

impl<T> ProblemBodies<T> {
    pub(crate) fn new(inner: T) -> Self {
        Self { inner, pending: Vec::new(), written: 0, wrote: false }
    }

    /// hyper's automatic answer, when `buf` is exactly one and the first write.
    fn first_and_automatic(&mut self, buf: &[u8]) -> Option<ErrorCode> {
        if std::mem::replace(&mut self.wrote, true) {
            return None;
        }
        match automatic_answer(buf) {
            Some((0, code)) => Some(code),
            _ => None,
        }
    }
}

/// Where hyper's automatic answer starts in `buf`, and its status, when `buf` ends with
/// one. Its form is fixed (hyper's `on_parse_error`): the status line, then exactly
/// `connection: close`, `content-length: 0` and a 29-byte `date`. Our own answers always
/// carry `x-request-id`, so none of them has this form.
fn automatic_answer(buf: &[u8]) -> Option<(usize, ErrorCode)> {
    const TAIL: &[u8] = b"\r\nconnection: close\r\ncontent-length: 0\r\ndate: ";
    const DATE_LEN: usize = 29;
    let rest = buf.strip_suffix(b"\r\n\r\n")?;
    let before_date = rest.len().checked_sub(DATE_LEN)?;
    let head = rest[..before_date].strip_suffix(TAIL)?;
    let start = head.windows(9).rposition(|w| w == b"HTTP/1.1 ")?;
    let code = match &head[start + 9..] {
        b"400 Bad Request" => ErrorCode::MalformedRequest,
        b"414 URI Too Long" => ErrorCode::UriTooLong,
        b"431 Request Header Fields Too Large" => ErrorCode::HeadersTooLarge,
        _ => return None,
    };
    Some((start, code))
}

/// Our answer for `code`, as hyper would have closed the connection after its own.
fn problem_answer(code: ErrorCode) -> Vec<u8> {
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    let problem = Problem {
        type_uri: code.type_uri(),
        title: code.title().to_owned(),
        status: code.status(),
        detail: Some("the request could not be read as HTTP/1.1".to_owned()),
        error_code: code,
        request_id: request_id.clone(),
    };
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let reason = match code.status() {
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        _ => "Bad Request",
    };
    let mut answer = format!(
        "HTTP/1.1 {} {reason}\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\n\
         connection: close\r\nx-request-id: {request_id}\r\n\r\n",
        code.status(),
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    answer
}

impl<T: AsyncWrite + Unpin> ProblemBodies<T> {
    /// Writes out what is pending; ready once nothing is.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }

    /// Takes all of `buf` (hyper's automatic answer) and sends ours instead; the bytes go
    /// out as the connection takes them, before any flush or shutdown completes.
    fn replace(&mut self, cx: &mut Context<'_>, buf: &[u8], code: ErrorCode) -> Poll<io::Result<usize>> {
        self.pending = problem_answer(code);
        self.written = 0;
        if let Poll::Ready(Err(e)) = self.drain(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(buf.len()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ProblemBodies<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        match this.first_and_automatic(buf) {
            Some(code) => this.replace(cx, buf, code),
            None => Pin::new(&mut this.inner).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        // Only the first write can be hyper's answer; look closer only when it could be.
        if !this.wrote && bufs.iter().rev().find(|b| !b.is_empty()).is_some_and(|b| b.ends_with(b"\r\n\r\n")) {
            let flat: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
            if let Some(code) = this.first_and_automatic(&flat) {
                return this.replace(cx, &flat, code);
            }
        }
        this.wrote = true;
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ProblemBodies<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &str = "Sun, 29 Nov 2026 10:24:19 GMT";

    #[test]
    fn recognises_only_hypers_own_answer() {
        let bare =
            format!("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\ndate: {DATE}\r\n\r\n");
        assert_eq!(automatic_answer(bare.as_bytes()), Some((0, ErrorCode::MalformedRequest)));
        let after_ours = format!("HTTP/1.1 200 OK\r\nx-request-id: a\r\ncontent-length: 2\r\n\r\nok{bare}");
        let start = after_ours.find("HTTP/1.1 400").unwrap();
        assert_eq!(automatic_answer(after_ours.as_bytes()), Some((start, ErrorCode::MalformedRequest)));
        let long = bare.replace("400 Bad Request", "431 Request Header Fields Too Large");
        assert_eq!(automatic_answer(long.as_bytes()), Some((0, ErrorCode::HeadersTooLarge)));
        for not_hypers in [
            bare.replace("connection: close\r\n", ""),
            bare.replace("content-length: 0", "content-length: 10"),
            bare.replace("400 Bad Request", "404 Not Found"),
            format!(
                "HTTP/1.1 400 Bad Request\r\nx-request-id: a\r\nconnection: close\r\ncontent-length: 0\r\ndate: {DATE}\r\n\r\n"
            ),
            bare.trim_end().to_owned(),
        ] {
            assert_eq!(automatic_answer(not_hypers.as_bytes()), None, "{not_hypers:?}");
        }
    }

    #[test]
    fn only_the_first_write_is_ever_replaced() {
        let bare =
            format!("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\ndate: {DATE}\r\n\r\n");
        let mut first = ProblemBodies::new(());
        assert_eq!(first.first_and_automatic(bare.as_bytes()), Some(ErrorCode::MalformedRequest));
        let mut later = ProblemBodies::new(());
        assert_eq!(later.first_and_automatic(b"HTTP/1.1 200 OK\r\nx-request-id: a\r\n\r\n"), None);
        assert_eq!(later.first_and_automatic(bare.as_bytes()), None, "a body's tail chosen to look like it");
        let body_tail = format!("HTTP/1.1 200 OK\r\nx-request-id: a\r\ncontent-length: 80\r\n\r\n{bare}");
        assert_eq!(ProblemBodies::new(()).first_and_automatic(body_tail.as_bytes()), None);
    }

    #[test]
    fn the_replacement_is_a_whole_problem_answer() {
        let answer = String::from_utf8(problem_answer(ErrorCode::MalformedRequest)).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n") && head.contains("connection: close"), "{head}");
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(problem["error_code"], "malformed_request");
        assert!(head.contains(&format!("x-request-id: {}", problem["request_id"].as_str().unwrap())));
    }
}
