//! The register of rights requests for the organisation's staff (bijlage 2, steps 3 and
//! 8): every request with where it stands, and each one's whole history. Every staff role
//! reads it, auditors included; nothing in it is changed or deleted through here.

use super::{Caller, Gateway, RequestError};
use crate::protocol::rights::RequestState;
use crate::store::StoreError;
use crate::store::outbox_store::{Attempt, Delivery};
use crate::store::request_store::{RegisterFilter, RequestEvent, RightsRequest};

/// Rights requests by how near their deadline is, now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestGauges {
    pub open: u64,
    pub overdue: u64,
    /// For each warning distance in days: open requests due on one of the next that many
    /// days (today included), not yet overdue.
    pub due_within: Vec<(u32, u64)>,
}

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

impl Gateway {
    /// The outbox's delivery log, newest first, each notice with its attempts: for every
    /// staff role, like the register.
    pub async fn deliveries(
        &self,
        caller: &Caller,
        target: Option<&str>,
        limit: u32,
        before: Option<&str>,
    ) -> Result<Vec<(Delivery, Vec<Attempt>)>, RequestError> {
        ensure_reads_register(caller)?;
        let deliveries = self.outbox.deliveries(target, limit, before).await?;
        let ids: Vec<String> = deliveries.iter().map(|d| d.notice.id.clone()).collect();
        let mut by_notice: std::collections::HashMap<String, Vec<Attempt>> = std::collections::HashMap::new();
        for (id, attempt) in self.outbox.attempts_of(&ids).await? {
            by_notice.entry(id).or_default().push(attempt);
        }
        Ok(deliveries
            .into_iter()
            .map(|d| {
                let attempts = by_notice.remove(&d.notice.id).unwrap_or_default();
                (d, attempts)
            })
            .collect())
    }

    /// Open requests, the overdue ones, and those due within each warning distance, now.
    pub async fn request_gauges(&self) -> Result<RequestGauges, StoreError> {
        let now = self.clock.now();
        let open = RegisterFilter { state: Some(RequestState::Open), ..RegisterFilter::default() };
        let due_before = |at: u64| RegisterFilter { due_before: Some(at), ..open.clone() };
        let overdue = self.requests.count(&due_before(now)).await?;
        let mut due_within = Vec::with_capacity(self.request_rules.warning_days.len());
        // Due within N days: on any of the next N days of the organisation's calendar.
        let deadlines = &self.request_rules.deadlines;
        let today = deadlines.date_of(now);
        for &days in &self.request_rules.warning_days {
            let bound = deadlines.start_of(today.add_days(i64::from(days) + 1));
            let soon = self.requests.count(&due_before(bound)).await?;
            due_within.push((days, soon - overdue.min(soon)));
        }
        Ok(RequestGauges { open: self.requests.count(&open).await?, overdue, due_within })
    }
}

fn ensure_reads_register(caller: &Caller) -> Result<(), RequestError> {
    if caller.reads_register() {
        Ok(())
    } else {
        Err(RequestError::NotPermitted("the request register is for the organisation's staff".into()))
    }
}
