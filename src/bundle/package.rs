//! The zip package (BagIt, RFC 8493): written as a stream into any `Write`, verified as a
//! stream from any `Read + Seek`, hashing every file as it passes so memory stays flat.
//! Entries are stored, not compressed: stored sizes equal real sizes, so no zip bomb gets
//! past the size checks, and hashing is the only per-byte work.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Read, Seek, Write};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::verify::{BundleError, CategorySummary};
use super::zip_failures::{read_failed, unopened};
use super::{Purpose, TYP, VERSION};
use crate::clock::UnixSeconds;
use crate::jose::jws::{self, JwsError, Policy};
use crate::jose::{Jwks, strict_json};

pub const MEDIA_TYPE: &str = "application/zip";
pub const SIGNATURE_FILE: &str = "signature.jwt";
pub const TAG_MANIFEST: &str = "tagmanifest-sha256.txt";
pub const MANIFEST: &str = "manifest-sha256.txt";
pub const BAGIT_TXT: &str = "bagit.txt";
pub const BAG_INFO: &str = "bag-info.txt";
/// The tag files the tag manifest must list, in this order.
const TAG_FILES: [&str; 3] = [BAGIT_TXT, BAG_INFO, MANIFEST];
/// Most entries a package may hold.
pub const MAX_ENTRIES: usize = 4096;
/// Largest tag file (`bagit.txt`, manifests, `signature.jwt`) read into memory.
pub const MAX_TAG_FILE_BYTES: u64 = 1024 * 1024;
/// How every zip file begins: a local file header (APPNOTE 4.3.7).
pub const LOCAL_HEADER_MAGIC: [u8; 4] = *b"PK\x03\x04";
/// Chunk size for streaming payload files through the hasher.
const CHUNK: usize = 64 * 1024;

/// Claims of `signature.jwt`: who, whom, when, and the digest that seals the whole bag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageClaims {
    pub iss: String,
    pub sub: String,
    pub iat: UnixSeconds,
    pub jti: String,
    pub package: PackageInfo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageInfo {
    pub version: u32,
    pub purpose: Purpose,
    /// Hex SHA-256 of `tagmanifest-sha256.txt`.
    pub tagmanifest_sha256: String,
    pub categories: Vec<CategorySummary>,
}

/// Why writing a package failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    #[error("writing the package failed: {0}")]
    Io(#[from] io::Error),
    #[error("writing the package failed: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("{0:?} is not a valid payload file name")]
    BadName(String),
}

/// Writes a bag into a zip stream. Add payload files, then [`PackageWriter::finish`].
pub struct PackageWriter<W: Write> {
    zip: ZipWriter<zip::write::StreamWriter<W>>,
    manifest: Vec<(String, String)>,
    payload_bytes: u64,
}

impl<W: Write> PackageWriter<W> {
    pub fn new(out: W) -> Self {
        Self { zip: ZipWriter::new_stream(out), manifest: Vec::new(), payload_bytes: 0 }
    }

    fn options() -> SimpleFileOptions {
        SimpleFileOptions::default().compression_method(CompressionMethod::Stored).large_file(true)
    }

    /// Starts `data/<name>`; write its bytes, then call [`PayloadFile::close`].
    pub fn payload(&mut self, name: &str) -> Result<PayloadFile<'_, W>, WriteError> {
        if !is_payload_name(name) {
            return Err(WriteError::BadName(name.to_owned()));
        }
        let path = format!("data/{name}");
        self.zip.start_file(path.as_str(), Self::options())?;
        Ok(PayloadFile { package: self, path, hasher: Sha256::new(), bytes: 0 })
    }

    fn tag_file(&mut self, name: &str, content: &[u8]) -> Result<String, WriteError> {
        self.zip.start_file(name, Self::options())?;
        self.zip.write_all(content)?;
        Ok(hex::encode(Sha256::digest(content)))
    }

    /// Writes the tag files and `signature.jwt`; `sign` turns the tag manifest's hex digest
    /// into the compact JWS. Returns the underlying writer.
    pub fn finish(mut self, bag_info: &[(&str, String)], sign: impl FnOnce(&str) -> String) -> Result<W, WriteError> {
        let mut tags = Vec::new();
        let bagit = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";
        tags.push((self.tag_file(BAGIT_TXT, bagit.as_bytes())?, BAGIT_TXT));
        let mut info = String::new();
        for (label, value) in bag_info {
            // bag-info values are single lines.
            info.push_str(&format!("{label}: {}\n", value.replace(['\r', '\n'], " ")));
        }
        info.push_str(&format!("Payload-Oxum: {}.{}\n", self.payload_bytes, self.manifest.len()));
        tags.push((self.tag_file(BAG_INFO, info.as_bytes())?, BAG_INFO));
        let manifest: String = self.manifest.iter().map(|(digest, path)| format!("{digest}  {path}\n")).collect();
        tags.push((self.tag_file(MANIFEST, manifest.as_bytes())?, MANIFEST));
        let tag_manifest: String = tags.iter().map(|(digest, path)| format!("{digest}  {path}\n")).collect();
        let tag_digest = self.tag_file(TAG_MANIFEST, tag_manifest.as_bytes())?;
        let signature = sign(&tag_digest);
        self.zip.start_file(SIGNATURE_FILE, Self::options())?;
        self.zip.write_all(signature.as_bytes())?;
        Ok(self.zip.finish()?.into_inner())
    }
}

/// One payload file being written; hashes what passes through.
pub struct PayloadFile<'a, W: Write> {
    package: &'a mut PackageWriter<W>,
    path: String,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for PayloadFile<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.package.zip.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.package.zip.flush()
    }
}

impl<W: Write> PayloadFile<'_, W> {
    /// Ends the file and enters it in the manifest.
    pub fn close(self) {
        let digest = hex::encode(self.hasher.finalize());
        self.package.payload_bytes += self.bytes;
        self.package.manifest.push((digest, self.path));
    }
}

/// Payload files are flat: `data/<name>` with a name of `[A-Za-z0-9._-]`, not starting with `.`.
fn is_payload_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A package whose signature, tag manifest and every file's digest verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPackage {
    pub kid: String,
    pub claims: PackageClaims,
    /// Payload files and their sizes, as listed in the manifest.
    pub files: Vec<(String, u64)>,
}

/// Verifies a zip package against pinned keys. `progress` receives the number of payload
/// bytes hashed so far.
pub fn verify_package<R: Read + Seek>(
    reader: R,
    keys: &Jwks,
    progress: &mut dyn FnMut(u64),
) -> Result<VerifiedPackage, BundleError> {
    let malformed = BundleError::Package;
    let mut reader = reader;
    let zip = match ZipArchive::new(&mut reader) {
        Ok(zip) => zip,
        Err(e) => return Err(unopened(&mut reader, &e)),
    };
    if zip.len() > MAX_ENTRIES {
        return Err(malformed(format!("more than {MAX_ENTRIES} entries")));
    }
    let (start, entries) = (zip.central_directory_start(), zip.len());
    let mut reader = zip.into_inner();
    reject_duplicate_names(&mut reader, start, entries)?;
    let mut zip = ZipArchive::new(reader).map_err(|e| malformed(format!("not a zip package: {e}")))?;
    // Pass 1: the entry list alone. Every name must be safe, unique, expected and stored.
    let mut names = HashSet::new();
    let mut payload = BTreeMap::new();
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| malformed(format!("entry {i}: {e}")))?;
        let name = entry.name().to_owned();
        if entry.enclosed_name().is_none()
            || name.starts_with('/')
            || name.contains('\\')
            || name.split('/').any(|s| s == "..")
        {
            return Err(malformed(format!("unsafe entry name {name:?}")));
        }
        if !names.insert(name.clone()) {
            return Err(malformed(format!("duplicate entry {name:?}")));
        }
        if entry.is_symlink() {
            return Err(malformed(format!("{name:?} is a symbolic link")));
        }
        if entry.is_dir() {
            if name == "data/" {
                continue;
            }
            return Err(malformed(format!("unexpected directory {name:?}")));
        }
        if entry.compression() != CompressionMethod::Stored || entry.compressed_size() != entry.size() {
            return Err(malformed(format!("{name:?} is compressed; package entries are stored")));
        }
        match name.strip_prefix("data/") {
            Some(file) if is_payload_name(file) => {
                payload.insert(name.clone(), entry.size());
            }
            _ if TAG_FILES.contains(&name.as_str()) || name == TAG_MANIFEST || name == SIGNATURE_FILE => {}
            _ => return Err(malformed(format!("unexpected entry {name:?}"))),
        }
    }
    for required in [BAGIT_TXT, BAG_INFO, MANIFEST, TAG_MANIFEST, SIGNATURE_FILE] {
        if !names.contains(required) {
            return Err(malformed(format!("{required} is missing")));
        }
    }

    // Pass 2: the signature, which pins the tag manifest, which pins the manifest.
    let signature = read_small(&mut zip, SIGNATURE_FILE)?;
    let verified = jws::verify(&signature, keys, Policy { typ: TYP, max_bytes: MAX_TAG_FILE_BYTES as usize })?;
    let value = strict_json::parse(&verified.payload).map_err(JwsError::from)?;
    let claims: PackageClaims =
        serde_json::from_value(value).map_err(|e| BundleError::InvalidClaims(format!("signature.jwt: {e}")))?;
    if claims.package.version != VERSION {
        return Err(BundleError::InvalidClaims(format!("version {} is not {VERSION}", claims.package.version)));
    }
    super::verify::check_key_in_use(keys, &verified.kid, claims.iat)?;
    let tag_manifest = read_small(&mut zip, TAG_MANIFEST)?;
    if hex::encode(Sha256::digest(&tag_manifest)) != claims.package.tagmanifest_sha256 {
        return Err(BundleError::DigestMismatch(TAG_MANIFEST.to_owned()));
    }
    let tags = parse_manifest(&tag_manifest, TAG_MANIFEST)?;
    let mut expected = TAG_FILES;
    expected.sort_unstable();
    if !tags.keys().map(String::as_str).eq(expected) {
        return Err(malformed(format!("{TAG_MANIFEST} must list exactly {}", TAG_FILES.join(", "))));
    }
    for (file, digest) in &tags {
        if hex::encode(Sha256::digest(read_small(&mut zip, file)?)) != *digest {
            return Err(BundleError::DigestMismatch(file.clone()));
        }
    }
    let manifest = parse_manifest(&read_small(&mut zip, MANIFEST)?, MANIFEST)?;
    if manifest.keys().ne(payload.keys()) {
        return Err(malformed(format!("{MANIFEST} and the data/ entries differ")));
    }

    // Pass 3: every payload file, streamed through the hasher.
    let mut hashed = 0u64;
    let mut buf = vec![0u8; CHUNK];
    for (path, digest) in &manifest {
        let mut entry = zip.by_name(path).map_err(|e| malformed(format!("{path}: {e}")))?;
        let mut hasher = Sha256::new();
        loop {
            let n = entry.read(&mut buf).map_err(|e| read_failed(path, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            hashed += n as u64;
            progress(hashed);
        }
        if hex::encode(hasher.finalize()) != *digest {
            return Err(BundleError::DigestMismatch(path.clone()));
        }
    }
    let files = payload.into_iter().collect();
    Ok(VerifiedPackage { kid: verified.kid, claims, files })
}

/// Total payload bytes of a package's entries, for progress bars; cheap (central directory only).
pub fn payload_size<R: Read + Seek>(reader: R) -> Option<u64> {
    let mut zip = ZipArchive::new(reader).ok()?;
    let sizes = (0..zip.len())
        .filter_map(|i| zip.by_index_raw(i).ok().filter(|e| e.name().starts_with("data/")).map(|e| e.size()));
    Some(sizes.sum())
}

/// The zip crate indexes entries by name, so a second entry with the same name would be
/// invisible to it while other tools extract it. Walk the central directory's own file
/// headers (APPNOTE 4.3.12) from `start`: every name once, and exactly `entries` of them.
fn reject_duplicate_names<R: Read + Seek>(reader: &mut R, start: u64, entries: usize) -> Result<(), BundleError> {
    const HEADER: [u8; 4] = [0x50, 0x4b, 0x01, 0x02];
    const FIXED: usize = 46;
    let malformed = BundleError::Package;
    let io_err = |e: io::Error| malformed(format!("central directory: {e}"));
    reader.seek(io::SeekFrom::Start(start)).map_err(io_err)?;
    let mut seen = HashSet::new();
    let mut fixed = [0u8; FIXED];
    loop {
        if reader.read_exact(&mut fixed).is_err() || fixed[..4] != HEADER {
            break;
        }
        let field = |at: usize| u16::from_le_bytes([fixed[at], fixed[at + 1]]);
        let mut name = vec![0u8; usize::from(field(28))];
        reader.read_exact(&mut name).map_err(io_err)?;
        reader.seek(io::SeekFrom::Current(i64::from(field(30)) + i64::from(field(32)))).map_err(io_err)?;
        if seen.contains(&name) {
            return Err(malformed(format!("duplicate entry {:?}", String::from_utf8_lossy(&name))));
        }
        seen.insert(name);
        if seen.len() > MAX_ENTRIES {
            return Err(malformed(format!("more than {MAX_ENTRIES} entries")));
        }
    }
    if seen.len() != entries {
        return Err(malformed(format!("the central directory lists {} entries, the archive {entries}", seen.len())));
    }
    Ok(())
}

fn read_small<R: Read + Seek>(zip: &mut ZipArchive<R>, name: &str) -> Result<Vec<u8>, BundleError> {
    let malformed = BundleError::Package;
    let entry = zip.by_name(name).map_err(|e| malformed(format!("{name}: {e}")))?;
    if entry.size() > MAX_TAG_FILE_BYTES {
        return Err(malformed(format!("{name} is larger than {MAX_TAG_FILE_BYTES} bytes")));
    }
    let mut bytes = Vec::new();
    entry.take(MAX_TAG_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| read_failed(name, e))?;
    Ok(bytes)
}

/// Parses `<hex sha-256> <path>` lines; a path may appear once.
fn parse_manifest(bytes: &[u8], name: &str) -> Result<BTreeMap<String, String>, BundleError> {
    let malformed = |m: String| BundleError::Package(format!("{name}: {m}"));
    let text = std::str::from_utf8(bytes).map_err(|_| malformed("not UTF-8".into()))?;
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (digest, path) =
            line.split_once(char::is_whitespace).ok_or_else(|| malformed(format!("bad line {line:?}")))?;
        let path = path.trim_start();
        if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(malformed(format!("bad digest in {line:?}")));
        }
        if out.insert(path.to_owned(), digest.to_ascii_lowercase()).is_some() {
            return Err(malformed(format!("{path:?} listed twice")));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::jose::SigningKeyPair;

    fn claims(tag_digest: &str) -> PackageClaims {
        PackageClaims {
            iss: "https://example.com".into(),
            sub: "alice".into(),
            iat: 1,
            jti: "b-1".into(),
            package: PackageInfo {
                version: VERSION,
                purpose: Purpose::Access,
                tagmanifest_sha256: tag_digest.into(),
                categories: vec![CategorySummary { id: "contact".into(), name: "Contact".into(), records: 1 }],
            },
        }
    }

    fn build(key: &SigningKeyPair, files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = PackageWriter::new(Vec::new());
        for (name, content) in files {
            let mut file = writer.payload(name).unwrap();
            file.write_all(content).unwrap();
            file.close();
        }
        let info = [("Source-Organization", "Example".to_owned())];
        writer.finish(&info, |digest| jws::sign(key, TYP, &serde_json::to_vec(&claims(digest)).unwrap())).unwrap()
    }

    /// Re-zips `package` with `change` applied to each entry's content, CRCs recomputed, as
    /// an attacker who edits files would.
    fn rezip(package: &[u8], change: impl Fn(&str, Vec<u8>) -> Vec<u8>) -> Vec<u8> {
        let mut zip = ZipArchive::new(Cursor::new(package)).unwrap();
        let mut out = ZipWriter::new(Cursor::new(Vec::new()));
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i).unwrap();
            let name = entry.name().to_owned();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            out.start_file(name.as_str(), PackageWriter::<Vec<u8>>::options()).unwrap();
            out.write_all(&change(&name, bytes)).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    fn keys(key: &SigningKeyPair) -> Jwks {
        Jwks { keys: vec![key.public_jwk().clone()] }
    }

    fn verify(package: &[u8], key: &SigningKeyPair) -> Result<VerifiedPackage, BundleError> {
        verify_package(Cursor::new(package), &keys(key), &mut |_| {})
    }

    fn malformed(result: Result<VerifiedPackage, BundleError>) -> String {
        match result {
            Err(BundleError::Package(m)) => m,
            other => panic!("expected malformed, got {other:?}"),
        }
    }

    const FILES: &[(&str, &[u8])] = &[("contact.json", b"{\"records\":[]}"), ("contact.csv", b"name\r\nAlice\r\n")];

    #[test]
    fn round_trip_verifies_and_reports_progress() {
        let key = SigningKeyPair::generate();
        let package = build(&key, FILES);
        let mut seen = 0;
        let verified = verify_package(Cursor::new(&package), &keys(&key), &mut |n| seen = n).unwrap();
        assert_eq!(verified.claims.sub, "alice");
        assert_eq!(verified.files, vec![("data/contact.csv".to_owned(), 13), ("data/contact.json".to_owned(), 14)]);
        assert_eq!(seen, 27);
        assert_eq!(payload_size(Cursor::new(&package)), Some(27));
    }

    #[test]
    fn edited_files_are_named_by_digest() {
        let key = SigningKeyPair::generate();
        let package = build(&key, FILES);
        for target in ["data/contact.csv", MANIFEST, BAG_INFO, BAGIT_TXT, TAG_MANIFEST] {
            let edited = rezip(&package, |name, mut bytes| {
                if name == target {
                    bytes[0] ^= 1;
                }
                bytes
            });
            assert_eq!(verify(&edited, &key).unwrap_err(), BundleError::DigestMismatch(target.into()), "{target}");
        }
        let resigned = rezip(
            &package,
            |name, bytes| if name == SIGNATURE_FILE { bytes[..bytes.len() - 2].to_vec() } else { bytes },
        );
        assert!(matches!(verify(&resigned, &key), Err(BundleError::Jws(_))));
        let other = SigningKeyPair::generate();
        assert!(matches!(verify(&package, &other), Err(BundleError::Jws(JwsError::UnknownKid(_)))));
    }

    #[test]
    fn any_flipped_byte_of_any_file_is_caught() {
        let key = SigningKeyPair::generate();
        let package = build(&key, FILES);
        let mut zip = ZipArchive::new(Cursor::new(&package)).unwrap();
        let spans: Vec<(String, u64, u64)> = (0..zip.len())
            .map(|i| {
                let e = zip.by_index_raw(i).unwrap();
                (e.name().to_owned(), e.data_start().unwrap(), e.compressed_size())
            })
            .collect();
        for (name, start, len) in spans {
            for i in start..start + len {
                let mut bytes = package.clone();
                bytes[i as usize] ^= 0x20;
                let err = verify(&bytes, &key).unwrap_err();
                assert!(err.to_string().contains(&name) || matches!(err, BundleError::Jws(_)), "{name}@{i}: {err}");
            }
        }
    }

    #[test]
    fn a_cut_download_is_truncated_and_a_changed_byte_names_its_file() {
        let key = SigningKeyPair::generate();
        let package = build(&key, FILES);
        for cut in [package.len() - 1, package.len() / 2, 10] {
            let err = verify(&package[..cut], &key).unwrap_err();
            assert!(matches!(err, BundleError::PackageTruncated(_)) && err.is_unchecked(), "{cut}: {err:?}");
        }
        assert!(matches!(verify(b"<html>502 Bad Gateway</html>", &key), Err(BundleError::NotAPackage(_))));
        // Whole, but its directory points nowhere: damaged or made so, not a cut download.
        let mut pointing_nowhere = package.clone();
        let end = pointing_nowhere.windows(4).rposition(|w| w == b"PK\x05\x06").unwrap();
        pointing_nowhere[end + 16..end + 20].copy_from_slice(&u32::MAX.to_le_bytes());
        let err = verify(&pointing_nowhere, &key).unwrap_err();
        assert!(matches!(err, BundleError::Package(_)) && !err.is_unchecked(), "{err:?}");
        // One byte of a payload file changed in place: its CRC no longer matches.
        let at = package.windows(14).position(|w| w == b"{\"records\":[]}").unwrap() + 2;
        let mut changed = package.clone();
        changed[at] ^= 0x20;
        let err = verify(&changed, &key).unwrap_err();
        assert_eq!(err, BundleError::DigestMismatch("data/contact.json".into()));
        assert!(!err.is_unchecked());
    }

    #[test]
    fn hostile_entries_are_refused() {
        let key = SigningKeyPair::generate();
        let package = build(&key, FILES);
        let with_extra = |name: &str| {
            let mut zip = ZipWriter::new_append(Cursor::new(package.clone())).unwrap();
            zip.start_file(name, PackageWriter::<Vec<u8>>::options()).unwrap();
            zip.write_all(b"x").unwrap();
            zip.finish().unwrap().into_inner()
        };
        for (name, expected) in [
            ("../evil.txt", "unsafe entry name"),
            ("/etc/passwd", "unsafe entry name"),
            ("data/../../x", "unsafe entry name"),
            ("data\\x.json", "unsafe entry name"),
            ("notes.txt", "unexpected entry"),
            ("data/sub/x.json", "unexpected entry"),
        ] {
            let message = malformed(verify(&with_extra(name), &key));
            assert!(message.contains(expected), "{name}: {message}");
        }
        let unlisted = with_extra("data/extra.json");
        assert!(malformed(verify(&unlisted, &key)).contains("differ"));
        // Same-length rename in both headers makes two entries with one name.
        let pair = build(&key, &[("a.json", b"1"), ("b.json", b"2")]);
        let mut duplicated = pair.clone();
        let (from, to) = (b"b.json", b"a.json");
        // Only the names in the zip headers; the manifest's text stays as it is.
        let positions: Vec<usize> = duplicated
            .windows(from.len())
            .enumerate()
            .filter(|(i, w)| w == from && &pair[i - 7..i - 5] != b"  ")
            .map(|(i, _)| i)
            .collect();
        assert!(!positions.is_empty());
        for i in positions {
            duplicated[i..i + to.len()].copy_from_slice(to);
        }
        let message = malformed(verify(&duplicated, &key));
        assert!(message.contains("duplicate entry \"data/a.json\""), "{message}");
        assert!(matches!(verify(b"not a zip", &key), Err(BundleError::NotAPackage(_))));
    }

    /// Compression is how zip bombs work; a package entry must be stored. The method field
    /// (offset 8 of a local header, 10 of a central header) is set to deflate (8) here.
    #[test]
    fn compressed_entries_are_refused() {
        let key = SigningKeyPair::generate();
        let mut package = build(&key, FILES);
        for (signature, offset) in [([0x50, 0x4b, 0x03, 0x04], 8), ([0x50, 0x4b, 0x01, 0x02], 10)] {
            let at = package.windows(4).position(|w| w == signature).unwrap();
            package[at + offset] = 8;
        }
        let message = malformed(verify(&package, &key));
        assert!(message.contains("compressed"), "{message}");
    }

    #[test]
    fn payload_names_are_flat_and_plain() {
        let mut writer = PackageWriter::new(Vec::new());
        for bad in ["", "../x", "a/b", ".hidden", "é"] {
            assert!(matches!(writer.payload(bad), Err(WriteError::BadName(_))), "{bad}");
        }
    }
}
