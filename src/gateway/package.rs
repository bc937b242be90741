//! Writing a subject's zip package (docs/bundle-format.md § Zip package) as a stream:
//! records are spooled once per category to an unlinked temporary file in the data dir,
//! then written as JSON and CSV, hashed on the way into the zip.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, BufWriter, Seek, Write};

use futures_util::TryStreamExt;
use tokio::runtime::Handle;

use super::exports::{ExportError, OpenCategories};
use super::index_html;
use crate::api::AppState;
use crate::bundle::csv::{self, MAX_COLUMNS};
use crate::bundle::package::{PackageClaims, PackageInfo, PackageWriter, WriteError};
use crate::bundle::{CategorySummary, Purpose, TYP, VERSION};
use crate::clock::rfc3339;
use crate::connectors::Record;
use crate::jose::jws;
use crate::subject::SubjectRef;

/// What a package is about, fixed before the first byte is written.
pub struct PackageRequest {
    pub subject: SubjectRef,
    pub purpose: Purpose,
    pub jti: String,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("spooling records failed: {0}")]
    Spool(#[from] std::io::Error),
    #[error("category {0} has more than {MAX_COLUMNS} CSV columns")]
    TooManyColumns(String),
}

/// Writes the package into `out`. Blocking: run it on a blocking thread; `handle` drives
/// the connectors' async streams.
pub fn write<W: Write>(
    state: &AppState,
    handle: &Handle,
    request: &PackageRequest,
    open: OpenCategories<'_>,
    out: W,
) -> Result<W, PackageError> {
    let mut package = PackageWriter::new(out);
    let mut summaries = Vec::with_capacity(open.len());
    for (category, stream) in open {
        let info = state.notice_category(category);
        let mut spool = BufWriter::new(tempfile::tempfile_in(&state.data_dir)?);
        let mut columns: Vec<String> = Vec::new();
        let mut known: HashMap<String, usize> = HashMap::new();
        let mut count = 0usize;
        if let Some(mut stream) = stream {
            while let Some(record) = handle.block_on(stream.try_next()).map_err(ExportError::Connector)? {
                for (column, _) in csv::flatten(&record) {
                    if !known.contains_key(&column) {
                        if columns.len() == MAX_COLUMNS {
                            return Err(PackageError::TooManyColumns(category.id.clone()));
                        }
                        known.insert(column.clone(), columns.len());
                        columns.push(column);
                    }
                }
                serde_json::to_writer(&mut spool, &record).map_err(std::io::Error::other)?;
                spool.write_all(b"\n")?;
                count += 1;
            }
        }
        let mut spool = spool.into_inner().map_err(|e| e.into_error())?;

        // data/<id>.json: the category's information with its records, like the JWS form.
        let head = serde_json::to_string(&info).map_err(std::io::Error::other)?;
        let mut file = package.payload(&format!("{}.json", category.id))?;
        file.write_all(&head.as_bytes()[..head.len() - 1])?;
        file.write_all(if head.len() > 2 { b",\"records\":[" } else { b"\"records\":[" })?;
        for_each_record(&mut spool, |i, line| {
            if i > 0 {
                file.write_all(b",")?;
            }
            file.write_all(line)
        })?;
        file.write_all(b"]}")?;
        file.close();

        // data/<id>.csv: one row per record, columns in first-seen order.
        let mut file = package.payload(&format!("{}.csv", category.id))?;
        let mut row = String::new();
        csv::write_row(columns.iter().map(String::as_str), &mut row);
        file.write_all(row.as_bytes())?;
        for_each_record(&mut spool, |_, line| {
            let record: Record = serde_json::from_slice(line).map_err(std::io::Error::other)?;
            let mut cells = vec![String::new(); columns.len()];
            for (column, value) in csv::flatten(&record) {
                if let Some(&i) = known.get(&column) {
                    cells[i] = value;
                }
            }
            row.clear();
            csv::write_row(cells.iter().map(String::as_str), &mut row);
            file.write_all(row.as_bytes())
        })?;
        file.close();
        summaries.push((info, count));
    }

    let mut file = package.payload("index.html")?;
    file.write_all(index_html::render(&state.notice, &request.subject, state.clock.now(), &summaries).as_bytes())?;
    file.close();

    let now = state.clock.now();
    let categories: Vec<CategorySummary> = summaries
        .iter()
        .map(|(info, n)| CategorySummary { id: info.id.clone(), name: info.name.clone(), records: *n })
        .collect();
    let bag_info = [
        ("Source-Organization", state.notice.controller.name.clone()),
        ("Contact-Email", state.notice.controller.dpo_contact.clone()),
        ("External-Identifier", request.jti.clone()),
        ("Bagging-Date", rfc3339(now)[..10].to_owned()),
        ("Bag-Software-Agent", format!("gdpr-gateway {}", env!("CARGO_PKG_VERSION"))),
    ];
    let key = state.keyring.active_signing();
    let out = package.finish(&bag_info, |tag_digest| {
        let claims = PackageClaims {
            iss: state.notice.controller.id.clone(),
            sub: request.subject.as_str().to_owned(),
            iat: now,
            jti: request.jti.clone(),
            package: PackageInfo {
                version: VERSION,
                purpose: request.purpose,
                tagmanifest_sha256: tag_digest.to_owned(),
                categories: categories.clone(),
            },
        };
        // Serializing plain strings and numbers cannot fail.
        jws::sign(key, TYP, &serde_json::to_vec(&claims).unwrap_or_default())
    })?;
    Ok(out)
}

/// Reads the spool from the start, calling `f` with each record's JSON line.
fn for_each_record(
    spool: &mut std::fs::File,
    mut f: impl FnMut(usize, &[u8]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    spool.rewind()?;
    let mut reader = BufReader::new(&mut *spool);
    let mut line = Vec::new();
    let mut i = 0;
    while reader.read_until(b'\n', &mut line)? > 0 {
        f(i, line.strip_suffix(b"\n").unwrap_or(&line))?;
        line.clear();
        i += 1;
    }
    Ok(())
}
