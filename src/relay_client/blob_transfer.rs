//! Moving a blob through the relay, for the gateway and wallets alike: seal and upload
//! chunk by chunk, or download, check and open chunk by chunk, then delete it at the relay.

use std::sync::{Arc, Mutex};

use crate::protocol::blob::{self, BlobError, BlobKey, BlobRef};
use crate::relay_client::{RelayClient, RelayError};

/// Why a blob could not be fetched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    #[error(transparent)]
    Relay(#[from] RelayError),
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error("writing the blob failed: {0}")]
    Write(String),
}

/// Seals `plaintext` under a fresh key and uploads it for the other side of connection
/// `id`; returns the reference to send it in a message.
pub async fn send(client: &RelayClient, id: &str, plaintext: Vec<u8>) -> Result<BlobRef, RelayError> {
    let key = BlobKey::generate();
    let size = blob::sealed_len(plaintext.len() as u64);
    let sealed = futures_util::stream::iter(blob::sealed_chunks(plaintext, key.sealer()).map(Ok));
    upload(client, id, key, size, sealed).await
}

/// [`send`] for a plaintext of `len` bytes (at least one) read as it goes: `chunks` must
/// be [`blob::CHUNK_BYTES`] long each but the last, as a file read in such pieces is.
pub async fn send_chunks<S>(client: &RelayClient, id: &str, len: u64, chunks: S) -> Result<BlobRef, RelayError>
where
    S: futures_util::Stream<Item = std::io::Result<Vec<u8>>> + Send + Sync + 'static,
{
    use futures_util::StreamExt;
    if len == 0 {
        return Err(RelayError::Protocol("an empty blob is sent with `send`".into()));
    }
    let key = BlobKey::generate();
    let count = len.div_ceil(blob::CHUNK_BYTES as u64);
    let mut sealer = key.sealer();
    let mut index = 0u64;
    let sealed = chunks.map(move |chunk| {
        let chunk = chunk?;
        index += 1;
        let expected =
            if index < count { blob::CHUNK_BYTES as u64 } else { len - (count - 1) * blob::CHUNK_BYTES as u64 };
        if index > count || chunk.len() as u64 != expected {
            return Err(std::io::Error::other("the plaintext does not match its announced length"));
        }
        sealer.seal(&chunk, index == count).ok_or_else(|| std::io::Error::other("too many chunks"))
    });
    upload(client, id, key, blob::sealed_len(len), sealed).await
}

/// Uploads sealed chunks, hashing them on the way out (the message naming the hash is sent
/// after the upload), and checks the relay stored exactly that.
async fn upload<S>(client: &RelayClient, id: &str, key: BlobKey, size: u64, sealed: S) -> Result<BlobRef, RelayError>
where
    S: futures_util::Stream<Item = std::io::Result<Vec<u8>>> + Send + Sync + 'static,
{
    use futures_util::StreamExt;
    use sha2::{Digest, Sha256};
    let hash = Arc::new(Mutex::new(Sha256::new()));
    let hashing = hash.clone();
    let sealed = sealed.map(move |chunk| {
        if let Ok(bytes) = &chunk {
            hashing.lock().unwrap_or_else(std::sync::PoisonError::into_inner).update(bytes);
        }
        chunk
    });
    let stored = client.put_blob(id, size, sealed).await?;
    let sha256 = hex::encode(hash.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone().finalize());
    if stored.size != size || stored.sha256 != sha256 {
        return Err(RelayError::Protocol("the relay stored other bytes than were sent".into()));
    }
    Ok(key.reference(stored.blob_id, size, sha256))
}

/// Downloads the blob `blob` names, checks its size and hash and opens it, holding at most
/// `max_plaintext` bytes; then deletes it at the relay. A blob that fails for any reason
/// but a passing relay or network trouble is deleted too, so naming it again costs nothing.
pub async fn fetch(
    client: &RelayClient,
    id: &str,
    blob: &BlobRef,
    max_plaintext: u64,
) -> Result<Vec<u8>, TransferError> {
    // Sized once: the reference says how large it is, and the opener refuses anything over
    // the cap before a byte is read.
    let mut plaintext = Vec::with_capacity(usize::try_from(blob.size.min(max_plaintext)).unwrap_or(0));
    let fetched = download_into(client, id, blob, max_plaintext, &mut plaintext).await;
    let keep = matches!(&fetched, Err(TransferError::Relay(e)) if crate::relay_client::is_transient(e));
    if !keep {
        // Best effort: a blob left behind expires at the relay.
        let _ = client.delete_blob(id, &blob.blob_id).await;
    }
    fetched.map(|_| plaintext)
}

/// [`fetch`] into `out` instead of memory, for packages: what is written before the whole
/// blob checked out is not to be trusted, so callers write to a file they delete on error.
pub async fn fetch_into(
    client: &RelayClient,
    id: &str,
    blob: &BlobRef,
    max_plaintext: u64,
    out: &mut (dyn std::io::Write + Send),
) -> Result<u64, TransferError> {
    let fetched = download_into(client, id, blob, max_plaintext, out).await;
    // Whatever happened, the file is discarded with the reference: nothing is left to
    // fetch it again, so the blob goes too.
    let _ = client.delete_blob(id, &blob.blob_id).await;
    fetched
}

/// Streams the blob through the opener into `out`; returns the plaintext length.
async fn download_into(
    client: &RelayClient,
    id: &str,
    blob: &BlobRef,
    max_plaintext: u64,
    out: &mut (dyn std::io::Write + Send),
) -> Result<u64, TransferError> {
    if !crate::protocol::relay_wire::is_valid_id(&blob.blob_id) {
        return Err(BlobError::Malformed("blob_id is not a relay id").into());
    }
    let mut opener = blob::Opener::new(blob, max_plaintext)?;
    let mut response = client.blob(id, &blob.blob_id).await?;
    let mut written = 0u64;
    let io = |e: std::io::Error| TransferError::Write(e.to_string());
    while let Some(bytes) = response.chunk().await.map_err(|e| RelayError::Transport(e.to_string()))? {
        let plain = opener.push(&bytes)?;
        out.write_all(&plain).map_err(io)?;
        written += plain.len() as u64;
    }
    let last = opener.finish()?;
    out.write_all(&last).map_err(io)?;
    out.flush().map_err(io)?;
    Ok(written + last.len() as u64)
}
