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
}

/// Seals `plaintext` under a fresh key and uploads it for the other side of connection
/// `id`; returns the reference to send it in a message.
pub async fn send(client: &RelayClient, id: &str, plaintext: Vec<u8>) -> Result<BlobRef, RelayError> {
    use futures_util::StreamExt;
    use sha2::{Digest, Sha256};
    let key = BlobKey::generate();
    let size = blob::sealed_len(plaintext.len() as u64);
    // The hash goes in the message sent after the upload, so it is taken on the way out.
    let hash = Arc::new(Mutex::new(Sha256::new()));
    let hashing = hash.clone();
    let chunks = futures_util::stream::iter(blob::sealed_chunks(plaintext, key.sealer())).map(move |chunk| {
        hashing.lock().unwrap_or_else(std::sync::PoisonError::into_inner).update(&chunk);
        chunk
    });
    let stored = client.put_blob(id, size, chunks).await?;
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
    if !crate::protocol::relay::is_valid_id(&blob.blob_id) {
        return Err(BlobError::Malformed("blob_id is not a relay id").into());
    }
    let fetched = download(client, id, blob, max_plaintext).await;
    let keep = matches!(&fetched, Err(TransferError::Relay(e)) if crate::relay_client::is_transient(e));
    if !keep {
        // Best effort: a blob left behind expires at the relay.
        let _ = client.delete_blob(id, &blob.blob_id).await;
    }
    fetched
}

async fn download(
    client: &RelayClient,
    id: &str,
    blob: &BlobRef,
    max_plaintext: u64,
) -> Result<Vec<u8>, TransferError> {
    let mut opener = blob::Opener::new(blob, max_plaintext)?;
    let mut response = client.blob(id, &blob.blob_id).await?;
    // Sized once: the reference says how large it is, and the opener refused anything
    // over the cap already.
    let mut plaintext = Vec::with_capacity(usize::try_from(blob.size).unwrap_or(0));
    while let Some(bytes) = response.chunk().await.map_err(|e| RelayError::Transport(e.to_string()))? {
        plaintext.extend(opener.push(&bytes)?);
    }
    plaintext.extend(opener.finish()?);
    Ok(plaintext)
}
