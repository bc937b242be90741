//! JSON Lines decoding shared by the file and HTTP connectors: one object a line, each
//! line capped, blank lines skipped.

use futures_util::stream::{self, StreamExt};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use super::{ConnectorError, MAX_RECORD_BYTES, Record, RecordStream};

/// Decodes `reader` as JSON Lines into records, reading one line at a time; the first
/// error ends the stream.
pub(super) fn records<R: AsyncBufRead + Unpin + Send + 'static>(reader: R) -> RecordStream {
    stream::unfold(Some((reader, Vec::new(), 0usize)), |state| async move {
        let (mut reader, mut buf, mut line_no) = state?;
        loop {
            buf.clear();
            line_no += 1;
            match read_line_capped(&mut reader, &mut buf).await {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some((Err(e), None)),
            }
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return match parse_record(&buf) {
                Ok(record) => Some((Ok(record), Some((reader, buf, line_no)))),
                Err(m) => Some((Err(ConnectorError::Malformed(format!("line {line_no}: {m}"))), None)),
            };
        }
    })
    .boxed()
}

/// Reads up to and including the next `\n`, refusing records (the line without its
/// `\n` or `\r\n`) longer than [`MAX_RECORD_BYTES`]. Returns the bytes read, 0 at the end.
async fn read_line_capped<R: AsyncBufRead + Unpin>(reader: &mut R, buf: &mut Vec<u8>) -> Result<usize, ConnectorError> {
    let too_long = || ConnectorError::Malformed(format!("a record is longer than {MAX_RECORD_BYTES} bytes"));
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            break;
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        // Room for the terminator keeps memory bounded; the exact check follows below.
        if buf.len() + chunk.len() > MAX_RECORD_BYTES + 2 {
            return Err(too_long());
        }
        buf.extend_from_slice(chunk);
        let used = chunk.len();
        reader.consume(used);
        if done {
            break;
        }
    }
    let record = buf.strip_suffix(b"\n").map_or(&buf[..], |b| b.strip_suffix(b"\r").unwrap_or(b));
    if record.len() > MAX_RECORD_BYTES {
        return Err(too_long());
    }
    Ok(buf.len())
}

/// Parses one JSON object; anything else is malformed.
pub(super) fn parse_record(bytes: &[u8]) -> Result<Record, String> {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err("a record must be a JSON object".to_owned()),
        Err(e) => Err(format!("invalid JSON: {e}")),
    }
}
