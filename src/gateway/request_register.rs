//! The register of rights requests for the organisation's staff (bijlage 2, steps 3 and
//! 8): every request with where it stands, and each one's whole history. Every staff role
//! reads it, auditors included; nothing in it is changed or deleted through here.

use super::{Caller, Gateway, RequestError};
use crate::store::request_store::{RegisterFilter, RequestEvent, RightsRequest};

impl Gateway {
    /// Requests that pass `filter`, newest first: a page of at most `limit` after request
    /// `before`.
    pub async fn request_register(
        &self,
        caller: &Caller,
        filter: &RegisterFilter,
        limit: u32,
        before: Option<&str>,
    ) -> Result<Vec<RightsRequest>, RequestError> {
        ensure_reads_register(caller)?;
        Ok(self.requests.list(filter, limit, before).await?)
    }

    /// One request with its history, oldest line first.
    pub async fn request_with_history(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<(RightsRequest, Vec<RequestEvent>), RequestError> {
        ensure_reads_register(caller)?;
        let request = self.requests.by_id(id).await?.ok_or(RequestError::NotFound)?;
        let history = self.requests.history(id).await?;
        Ok((request, history))
    }
}

fn ensure_reads_register(caller: &Caller) -> Result<(), RequestError> {
    if caller.reads_register() {
        Ok(())
    } else {
        Err(RequestError::NotPermitted("the request register is for the organisation's staff".into()))
    }
}
