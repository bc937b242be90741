//! Writing a prepared export as the zip package (docs/bundle-format.md § Zip package), as
//! a stream into any sink (the HTTP body, a spool file for a blob): records are pulled once
//! per category into two unlinked temporary files in the data dir (JSON and finished CSV
//! rows), then copied into the zip, hashed on the way. The first records of each category
//! are also kept in memory, for the tables of `index.html`.

use std::collections::HashMap;
use std::io::{BufReader, BufWriter, Read, Seek, Write};

use futures_util::StreamExt;
use tokio::runtime::Handle;

use std::sync::Arc;

use super::Gateway;
use super::exports::{ExportError, PreparedExport};
use crate::bundle::csv::{self, MAX_COLUMNS};
use crate::bundle::index_html::{self, CategoryPage, INDEX_MAX_ROWS_PER_CATEGORY};
use crate::bundle::index_wording::Wording;
use crate::bundle::package::{PackageClaims, PackageInfo, PackageWriter, WriteError};
use crate::bundle::{CategorySummary, TYP, VERSION};
use crate::clock::rfc3339;
use crate::connectors::{Record, RecordStream};
use crate::inventory::Language;
use crate::jose::jws;

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
    #[error("the package writer stopped: {0}")]
    Stopped(String),
}

impl Gateway {
    /// Writes `export` as the zip package into `sink` on a blocking thread, and hands the
    /// sink back, flushed, when the package is complete. A sink that fails ends the writing.
    pub async fn write_package<W: Write + Send + 'static>(
        self: &Arc<Self>,
        export: PreparedExport,
        sink: W,
    ) -> Result<W, PackageError> {
        let (gateway, handle) = (self.clone(), Handle::current());
        tokio::task::spawn_blocking(move || write(&gateway, &handle, export, sink))
            .await
            .map_err(|e| PackageError::Stopped(e.to_string()))?
    }

    /// Who receives category `id`, for the package's page: declared recipients with their
    /// role, country and sharing assessment, free-text ones as written.
    fn recipient_lines<'a>(&'a self, id: &str) -> Vec<index_html::RecipientLine<'a>> {
        let entries = self.inventory.category(id).map(|c| c.recipients.as_slice()).unwrap_or_default();
        let line = |entry: &'a String| match self.inventory.recipient(entry) {
            Some(r) => index_html::RecipientLine {
                name: &r.name,
                role_and_country: Some((r.role.describe_in(self.inventory.language()), &r.country)),
                assessment: r
                    .assessment
                    .as_ref()
                    .map(|a| [a.moment.as_str(), a.lawfulness.as_str(), a.risks.as_str(), a.measures.as_str()]),
            },
            None => index_html::RecipientLine { name: entry, role_and_country: None, assessment: None },
        };
        entries.iter().map(line).collect()
    }
}

/// Writes the package into `out`. Blocking; `handle` drives the connectors' async streams.
fn write<W: Write>(gateway: &Gateway, handle: &Handle, export: PreparedExport, out: W) -> Result<W, PackageError> {
    let PreparedExport { subject, purpose, record, open } = export;
    let now = gateway.clock.now();
    let mut package = PackageWriter::new(out);
    let mut summaries = Vec::with_capacity(open.len());
    for (category, stream) in open {
        let mut info = gateway.notice_category(&category);
        // The notice keeps English words; the person's page speaks the configured language.
        info.retention_text = category.retention.describe_in(gateway.inventory.language());
        let Spooled { mut json, mut csv, columns, count, first } =
            spool(gateway, handle, &category.id, stream, INDEX_MAX_ROWS_PER_CATEGORY)?;

        // data/<id>.json: the category's information with its records, like the JWS form.
        let head = serde_json::to_string(&info).map_err(std::io::Error::other)?;
        let mut file = package.payload(&format!("{}.json", category.id))?;
        file.write_all(&head.as_bytes()[..head.len() - 1])?;
        file.write_all(if head.len() > 2 { b",\"records\":[" } else { b"\"records\":[" })?;
        for_each_entry(&mut json, |i, entry, _| {
            if i > 0 {
                file.write_all(b",")?;
            }
            file.write_all(entry)
        })?;
        file.write_all(b"]}")?;
        file.close();

        // data/<id>.csv: rows as spooled, padded for columns that appeared after them.
        let mut file = package.payload(&format!("{}.csv", category.id))?;
        let mut header = String::new();
        csv::write_row(columns.iter().map(String::as_str), &mut header);
        file.write_all(header.as_bytes())?;
        let padding = ",".repeat(columns.len());
        for_each_entry(&mut csv, |_, row, cells| {
            file.write_all(row)?;
            file.write_all(&padding.as_bytes()[..columns.len().saturating_sub(cells.max(1))])?;
            file.write_all(b"\r\n")
        })?;
        file.close();
        summaries.push(CategoryPage { info, count, records: first });
    }

    let mut file = package.payload("index.html")?;
    let wording = wording(gateway.inventory.language());
    let page =
        index_html::render(&gateway.notice, |id| gateway.recipient_lines(id), &subject, now, &summaries, wording);
    file.write_all(page.as_bytes())?;
    file.close();

    let categories: Vec<CategorySummary> = summaries
        .iter()
        .map(|p| CategorySummary { id: p.info.id.clone(), name: p.info.name.clone(), records: p.count })
        .collect();
    let bag_info = [
        ("Source-Organization", gateway.notice.controller.name.clone()),
        ("Contact-Email", gateway.notice.controller.dpo_contact.clone()),
        ("External-Identifier", record.id.clone()),
        ("Bagging-Date", rfc3339(now)[..10].to_owned()),
        ("Bag-Software-Agent", format!("gdpr-gateway {}", env!("CARGO_PKG_VERSION"))),
    ];
    let key = gateway.keyring.active_signing();
    let mut out = package.finish(&bag_info, |tag_digest| {
        let claims = PackageClaims {
            iss: gateway.notice.controller.id.clone(),
            sub: subject.as_str().to_owned(),
            iat: now,
            jti: record.id.clone(),
            package: PackageInfo {
                version: VERSION,
                purpose,
                tagmanifest_sha256: tag_digest.to_owned(),
                categories: categories.clone(),
            },
        };
        // Serializing plain strings and numbers cannot fail.
        jws::sign(key, TYP, &serde_json::to_vec(&claims).unwrap_or_default())
    })?;
    // Flushed here, on the blocking thread: a sink may block to hand its last bytes on.
    out.flush()?;
    Ok(out)
}

/// The wording of `index.html` in the configured language.
fn wording(language: Language) -> &'static Wording {
    match language {
        Language::En => &Wording::EN,
        Language::Nl => &Wording::NL,
    }
}

/// A category's records, spooled once: JSON for the `.json` file and finished CSV rows,
/// and the first few as they came, for the page.
struct Spooled {
    json: std::fs::File,
    csv: std::fs::File,
    columns: Vec<String>,
    count: usize,
    first: Vec<Record>,
}

/// Records pulled from the connector per trip into the async runtime.
const BATCH: usize = 1024;

/// Pulls the records once, writing each as JSON and as a CSV row to two unlinked temporary
/// files. CSV columns are numbered in first-seen order, so a new column only ever appends:
/// earlier rows are padded when copied, and no record is parsed twice. The first `keep`
/// records are kept as well.
fn spool(
    gateway: &Gateway,
    handle: &Handle,
    category: &str,
    stream: Option<RecordStream>,
    keep: usize,
) -> Result<Spooled, PackageError> {
    let mut json = BufWriter::new(tempfile::tempfile_in(&gateway.spool_dir)?);
    let mut csv_out = BufWriter::new(tempfile::tempfile_in(&gateway.spool_dir)?);
    let mut columns: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut count = 0usize;
    let mut first = Vec::with_capacity(keep.min(BATCH));
    let mut entry = Vec::new();
    let mut row = String::new();
    let mut cells: Vec<String> = Vec::new();
    if let Some(stream) = stream {
        let mut batches = stream.ready_chunks(BATCH);
        while let Some(batch) = handle.block_on(batches.next()) {
            for record in batch {
                let record = record.map_err(ExportError::Connector)?;
                entry.clear();
                serde_json::to_writer(&mut entry, &record).map_err(std::io::Error::other)?;
                write_entry(&mut json, &entry, 0)?;
                for cell in &mut cells {
                    cell.clear();
                }
                let mut used = 0;
                let mut too_wide = false;
                csv::for_each_cell(&record, |column, value| {
                    let i = match index.get(column) {
                        Some(&i) => i,
                        None if columns.len() == MAX_COLUMNS => {
                            too_wide = true;
                            return;
                        }
                        None => {
                            index.insert(column.to_owned(), columns.len());
                            columns.push(column.to_owned());
                            columns.len() - 1
                        }
                    };
                    if cells.len() <= i {
                        cells.resize(i + 1, String::new());
                    }
                    cells[i].push_str(value);
                    used = used.max(i + 1);
                });
                if too_wide {
                    return Err(PackageError::TooManyColumns(category.to_owned()));
                }
                let cells = &cells[..used];
                row.clear();
                csv::write_cells(cells.iter().map(String::as_str), &mut row);
                write_entry(&mut csv_out, row.as_bytes(), used)?;
                count += 1;
                if first.len() < keep {
                    first.push(record);
                }
            }
        }
    }
    let json = json.into_inner().map_err(|e| e.into_error())?;
    let csv = csv_out.into_inner().map_err(|e| e.into_error())?;
    Ok(Spooled { json, csv, columns, count, first })
}

/// Spool entries are length-prefixed (CSV rows may contain newlines): byte length and
/// cell count, then the bytes.
fn write_entry(out: &mut impl Write, bytes: &[u8], cells: usize) -> std::io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(|_| std::io::Error::other("record larger than 4 GiB"))?;
    let cells = u32::try_from(cells).map_err(|_| std::io::Error::other("too many cells"))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(&cells.to_le_bytes())?;
    out.write_all(bytes)
}

/// Reads a spool from the start, calling `f` with each entry's index, bytes and cell count.
fn for_each_entry(
    spool: &mut std::fs::File,
    mut f: impl FnMut(usize, &[u8], usize) -> std::io::Result<()>,
) -> std::io::Result<()> {
    spool.rewind()?;
    let mut reader = BufReader::with_capacity(256 * 1024, &mut *spool);
    let mut prefix = [0u8; 8];
    let mut bytes = Vec::new();
    let mut i = 0;
    loop {
        match reader.read_exact(&mut prefix) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        }
        let len = u32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
        let cells = u32::from_le_bytes([prefix[4], prefix[5], prefix[6], prefix[7]]) as usize;
        bytes.resize(len, 0);
        reader.read_exact(&mut bytes)?;
        f(i, &bytes, cells)?;
        i += 1;
    }
}
