//! Why a zip package could not be read, told apart by whose fault it is: a download cut
//! short (could not check), a file that is no zip at all, or a zip damaged or made so (a
//! verdict), and a changed entry the zip reader's CRC caught (its digest mismatch).

use std::io::{self, Read, Seek};

use super::package::LOCAL_HEADER_MAGIC;
use super::verify::BundleError;

/// Why a file did not open as a zip archive. One that starts as a zip and has no end of
/// central directory record (APPNOTE 4.3.16) in its last 65 557 bytes is an interrupted
/// download; one that has it, yet does not open, was damaged or made so (a verdict);
/// anything else is not a package at all.
pub(super) fn unopened<R: Read + Seek>(reader: &mut R, e: &zip::result::ZipError) -> BundleError {
    const EOCD: [u8; 4] = *b"PK\x05\x06";
    const EOCD_SEARCH: u64 = 22 + 65_535;
    let mut magic = [0u8; 4];
    let starts_as_zip = reader.seek(io::SeekFrom::Start(0)).is_ok()
        && reader.read_exact(&mut magic).is_ok()
        && magic == LOCAL_HEADER_MAGIC;
    if !starts_as_zip {
        return BundleError::NotAPackage(format!("not a zip file ({e})"));
    }
    let mut tail = Vec::new();
    let read = reader
        .seek(io::SeekFrom::End(0))
        .and_then(|len| reader.seek(io::SeekFrom::Start(len.saturating_sub(EOCD_SEARCH))))
        .and_then(|_| reader.read_to_end(&mut tail));
    // The record whole: 22 bytes and the comment its last field counts.
    let has_end = read.is_ok()
        && tail.windows(4).rposition(|w| w == EOCD).is_some_and(|at| {
            let comment = tail.get(at + 20..at + 22).map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])));
            comment.is_some_and(|comment| at + 22 + comment <= tail.len())
        });
    if has_end {
        BundleError::Package(format!("a zip file whose directory does not open: {e}"))
    } else {
        BundleError::PackageTruncated(format!("a zip file without its end ({e}); download it again"))
    }
}

/// A failed read of entry `name`: a CRC the zip reader refused is the file's content
/// changed, which the manifest digest would refuse as well; anything else is the format.
pub(super) fn read_failed(name: &str, e: io::Error) -> BundleError {
    // The zip crate's only `InvalidData` error while reading an entry's data is its CRC check.
    if e.kind() == io::ErrorKind::InvalidData {
        return BundleError::DigestMismatch(name.to_owned());
    }
    BundleError::Package(format!("{name}: {e}"))
}
