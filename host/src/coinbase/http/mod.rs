//! REST: the signed transport, the endpoints, and order submission.

pub mod api;
pub mod client;
pub mod models;
pub mod orders;

pub use api::{FillFilter, OrderFilter};
pub use client::{KeySupply, Repeat, RestClient, RestConfig, RestError, RetryPolicy, spawn_clock_sync};
pub use orders::{OrderSubmitter, SubmitError, Submission, client_order_id, order_body};
