//! Simple moving average crossover.
//!
//! Buys with a fraction of the available cash when the fast average of
//! closing prices crosses above the slow one, and sells the whole position
//! when it crosses below. The decision logic in [`crossover`] is plain Rust
//! so the host's benchmark can run it natively; [`component`] adapts it to
//! the stratbox WIT world when built for `wasm32-wasip2`.

pub mod crossover;

#[cfg(target_arch = "wasm32")]
mod component;
