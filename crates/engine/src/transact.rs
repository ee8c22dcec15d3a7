//! BatchGetItem, BatchWriteItem, TransactWriteItems and TransactGetItems (BA-, TX-).

use dynasim_core::SimTime;

/// A remembered ClientRequestToken (TX-04): the request's fingerprint and when it finished.
#[derive(Clone, Debug)]
pub struct TokenEntry {
    pub fingerprint: String,
    pub finished_at: SimTime,
}
