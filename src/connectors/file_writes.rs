//! The file connector's writes, blocking, on one subject's directory. Every file is
//! replaced whole: written to a temporary file beside it (`.<name>.<random>.tmp`), synced,
//! renamed over the old one, and the directory synced; a crash leaves the old file or the
//! new one, never a mix, plus at most a stray temporary file, which reads ignore and the
//! next write of that file (or the erasure of its category) removes.
//!
//! Retention's scan by date reads with the same line reader.
//!
//! The caller holds the connector's write lock: one writer per source, so a rewrite never
//! races another rewrite and stray temporary files are never a live writer's.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::json_lines::parse_record;
use super::{ConnectorError, Cutoff, MAX_RECORD_BYTES, Record, WriteDone, check_patch, id_matches, merge_patch};
use crate::calendar::Date;

/// Read size for rewriting a category's records.
const READ_BUFFER_BYTES: usize = 256 * 1024;

fn records_file(category: &str) -> String {
    format!("{category}.jsonl")
}

fn restriction_marker(category: &str) -> String {
    format!("{category}.restricted")
}

fn objections_file(category: &str) -> String {
    format!("{category}.objections.json")
}

/// A category is a file name here; anything that could leave the directory is refused
/// (inventory ids never do).
fn check_category(category: &str) -> Result<(), ConnectorError> {
    if category.is_empty() || category.starts_with('.') || category.contains(['/', '\\', '\0']) {
        return Err(ConnectorError::Setup(format!("category {category:?} cannot be a file name")));
    }
    Ok(())
}

/// Applies `patch` to the one record of `category` whose `id_field` is `record_id`; every
/// other line stays as it was, byte for byte.
pub(super) fn rectify(
    dir: &Path,
    category: &str,
    id_field: &str,
    record_id: &str,
    patch: &Record,
) -> Result<WriteDone, ConnectorError> {
    check_category(category)?;
    check_patch(id_field, patch)?;
    let name = records_file(category);
    let file = match File::open(dir.join(&name)) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ConnectorError::RecordNotFound),
        Err(e) => return Err(e.into()),
    };
    let permissions = file.metadata()?.permissions();
    let patch = Value::Object(patch.clone());
    let mut updated: Option<Record> = None;
    replace(dir, &name, Some(permissions), |out| {
        each_line(file, &name, |line_no, line, content, record| {
            let Some(record) = record.filter(|r| r.get(id_field).is_some_and(|v| id_matches(v, record_id))) else {
                return Ok(out.write_all(line)?);
            };
            if updated.is_some() {
                return Err(ConnectorError::Malformed(format!(
                    "{name} line {line_no}: a second record whose {id_field:?} is {record_id:?}"
                )));
            }
            let mut value = Value::Object(record);
            merge_patch(&mut value, &patch);
            let Value::Object(record) = value else {
                return Err(ConnectorError::InvalidPatch("the result is not a JSON object".into()));
            };
            let text = serde_json::to_vec(&record).map_err(|e| ConnectorError::InvalidPatch(e.to_string()))?;
            if text.len() > MAX_RECORD_BYTES {
                return Err(ConnectorError::InvalidPatch(format!("the record would exceed {MAX_RECORD_BYTES} bytes")));
            }
            out.write_all(&text)?;
            out.write_all(&line[content.len()..])?;
            updated = Some(record);
            Ok(())
        })?;
        if updated.is_none() {
            return Err(ConnectorError::RecordNotFound);
        }
        Ok(())
    })?;
    Ok(WriteDone { records: Some(1), confirmation: None, record: updated })
}

/// Removes the category's records (and any stray copy of them); the restriction and
/// objection markers stay: they are the organisation's record of what it may still do.
pub(super) fn erase(dir: &Path, category: &str) -> Result<WriteDone, ConnectorError> {
    check_category(category)?;
    let name = records_file(category);
    remove_strays(dir, &name)?;
    let path = dir.join(&name);
    let records = match File::open(&path) {
        Ok(file) => count_records(file)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e.into()),
    };
    remove_if_present(&path)?;
    sync_dir(dir)?;
    Ok(WriteDone { records: Some(records), ..WriteDone::default() })
}

/// Removes the records of `category` whose `date_field` is before `before`; every other
/// line stays as it was, byte for byte. No file, or nothing dated before, changes nothing.
pub(super) fn erase_dated(
    dir: &Path,
    category: &str,
    date_field: &str,
    before: Cutoff,
) -> Result<WriteDone, ConnectorError> {
    check_category(category)?;
    let name = records_file(category);
    let passed = |r: &Record| r.get(date_field).and_then(|v| before.has_passed(v)) == Some(true);
    let Some((count, _)) = count_dated(dir, category, date_field, before)? else { return Ok(WriteDone::default()) };
    if count == 0 {
        return Ok(WriteDone { records: Some(0), ..WriteDone::default() });
    }
    let file = File::open(dir.join(&name))?;
    let permissions = file.metadata()?.permissions();
    let mut erased = 0;
    replace(dir, &name, Some(permissions), |out| {
        each_line(file, &name, |_, line, _, record| {
            if record.as_ref().is_some_and(passed) {
                erased += 1;
                return Ok(());
            }
            Ok(out.write_all(line)?)
        })
    })?;
    Ok(WriteDone { records: Some(erased), ..WriteDone::default() })
}

/// How many records of `category` are dated before `before`, and the earliest such date as
/// written; `None` when the subject has no records of it.
pub(super) fn count_dated(
    dir: &Path,
    category: &str,
    date_field: &str,
    before: Cutoff,
) -> Result<Option<(u64, Option<String>)>, ConnectorError> {
    check_category(category)?;
    let name = records_file(category);
    let file = match File::open(dir.join(&name)) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let (mut count, mut oldest) = (0, None::<(u64, String)>);
    each_line(file, &name, |_, _, _, record| {
        let Some(value) = record.as_ref().and_then(|r| r.get(date_field)) else { return Ok(()) };
        if before.has_passed(value) == Some(true) {
            count += 1;
            let text = value.as_str().unwrap_or_default();
            let at = Date::parse_timestamp(text).unwrap_or_default();
            if oldest.as_ref().is_none_or(|(earliest, _)| at < *earliest) {
                oldest = Some((at, text.to_owned()));
            }
        }
        Ok(())
    })?;
    Ok(Some((count, oldest.map(|(_, text)| text))))
}

/// Calls `f` with each line's number, the line of `file` (with its terminator), its
/// content (without), and the record on it (`None` for a blank line); a malformed or
/// overlong line is an error.
fn each_line(
    file: File,
    name: &str,
    mut f: impl FnMut(usize, &[u8], &[u8], Option<Record>) -> Result<(), ConnectorError>,
) -> Result<(), ConnectorError> {
    let mut reader = BufReader::with_capacity(READ_BUFFER_BYTES, file);
    let mut line = Vec::new();
    let mut line_no = 0usize;
    loop {
        line.clear();
        line_no += 1;
        if read_line_capped(&mut reader, &mut line)? == 0 {
            return Ok(());
        }
        let content = line.strip_suffix(b"\n").map_or(&line[..], |l| l.strip_suffix(b"\r").unwrap_or(l));
        let malformed = |m: String| ConnectorError::Malformed(format!("{name} line {line_no}: {m}"));
        if content.len() > MAX_RECORD_BYTES {
            return Err(malformed(format!("a record is longer than {MAX_RECORD_BYTES} bytes")));
        }
        if content.iter().all(u8::is_ascii_whitespace) {
            f(line_no, &line, content, None)?;
            continue;
        }
        let record = parse_record(content).map_err(malformed)?;
        f(line_no, &line, content, Some(record))?;
    }
}

/// Writes `<category>.restricted` (`{"since": <unix seconds>}`); an existing marker keeps
/// its time.
pub(super) fn restrict(dir: &Path, category: &str) -> Result<WriteDone, ConnectorError> {
    check_category(category)?;
    let name = restriction_marker(category);
    if dir.join(&name).is_file() {
        return Ok(WriteDone::default());
    }
    let since = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let text = format!("{}\n", serde_json::json!({ "since": since }));
    replace(dir, &name, None, |out| Ok(out.write_all(text.as_bytes())?))?;
    Ok(WriteDone::default())
}

pub(super) fn lift_restriction(dir: &Path, category: &str) -> Result<WriteDone, ConnectorError> {
    check_category(category)?;
    let name = restriction_marker(category);
    remove_strays(dir, &name)?;
    remove_if_present(&dir.join(&name))?;
    sync_dir(dir)?;
    Ok(WriteDone::default())
}

/// Adds `purpose` to `<category>.objections.json`, a JSON array of purposes, once.
pub(super) fn object(dir: &Path, category: &str, purpose: &str) -> Result<WriteDone, ConnectorError> {
    check_category(category)?;
    let name = objections_file(category);
    let mut purposes: Vec<String> = match std::fs::read(dir.join(&name)) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| ConnectorError::Malformed(format!("{name}: expected a JSON array of strings: {e}")))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    if purposes.iter().any(|p| p == purpose) {
        return Ok(WriteDone::default());
    }
    purposes.push(purpose.to_owned());
    let text = serde_json::to_vec_pretty(&purposes).map_err(|e| ConnectorError::Malformed(e.to_string()))?;
    replace(dir, &name, None, |out| {
        out.write_all(&text)?;
        Ok(out.write_all(b"\n")?)
    })?;
    Ok(WriteDone::default())
}

/// Replaces `dir/name` by what `write` writes, atomically (see the module doc). When
/// `write` fails the old file stays and the temporary file is removed.
fn replace(
    dir: &Path,
    name: &str,
    permissions: Option<Permissions>,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<(), ConnectorError>,
) -> Result<(), ConnectorError> {
    remove_strays(dir, name)?;
    let temp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let file = OpenOptions::new().write(true).create_new(true).open(&temp)?;
        if let Some(permissions) = permissions {
            // Before any record is written: a copy is never readable by more than the original.
            file.set_permissions(permissions)?;
        }
        let mut out = BufWriter::with_capacity(READ_BUFFER_BYTES, file);
        write(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, dir.join(name))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Whether `file_name` is a temporary copy of `name` left by an interrupted write.
fn is_stray(file_name: &str, name: &str) -> bool {
    let random = file_name.strip_prefix('.').and_then(|r| r.strip_prefix(name)).and_then(|r| r.strip_prefix('.'));
    random.and_then(|r| r.strip_suffix(".tmp")).is_some_and(|r| !r.is_empty() && !r.contains('.'))
}

/// Removes the temporary copies of `name` that interrupted writes left in `dir`.
fn remove_strays(dir: &Path, name: &str) -> Result<(), ConnectorError> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_str().is_some_and(|f| is_stray(f, name)) {
            remove_if_present(&entry.path())?;
        }
    }
    Ok(())
}

fn remove_if_present(path: &Path) -> Result<(), ConnectorError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

/// Makes a rename or removal in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), ConnectorError> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Reads up to and including the next `\n`, at most a record's length plus its
/// terminator and one byte (so an overlong line shows). Returns the bytes read, 0 at the end.
fn read_line_capped(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> Result<usize, ConnectorError> {
    Ok(reader.by_ref().take(MAX_RECORD_BYTES as u64 + 3).read_until(b'\n', buf)?)
}

/// The lines of `file` with anything but whitespace on them, without holding a line.
fn count_records(file: File) -> Result<u64, ConnectorError> {
    let mut reader = BufReader::with_capacity(READ_BUFFER_BYTES, file);
    let (mut count, mut in_record) = (0u64, false);
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        for &b in chunk {
            if b == b'\n' {
                in_record = false;
            } else if !in_record && !b.is_ascii_whitespace() {
                in_record = true;
                count += 1;
            }
        }
        let used = chunk.len();
        reader.consume(used);
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strays_are_recognised_by_name() {
        assert!(is_stray(".contact.jsonl.0123abcd.tmp", "contact.jsonl"));
        for other in
            ["contact.jsonl", ".contact.jsonl.tmp", ".contact.jsonl..tmp", ".contact.jsonl.a.b.tmp", ".x.jsonl.0.tmp"]
        {
            assert!(!is_stray(other, "contact.jsonl"), "{other}");
        }
        // Another category whose name starts the same is not ours.
        assert!(!is_stray(".contact.jsonl.0.tmp", "contact"));
    }
}
