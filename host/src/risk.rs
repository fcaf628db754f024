//! Pre-trade checks: every order intent a strategy returns passes through
//! here before it reaches a venue. A refusal is a [`Rejection`], which the
//! strategy receives as the reason of a rejected order update.

use crate::strategy::{OrderIntent, OrderKind, Side, Size, TimeInForce};

/// Maximum length of an order tag, in bytes.
pub const MAX_TAG_BYTES: usize = 64;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Rejection {
    #[error("tag is empty; give each order a tag of 1 to {MAX_TAG_BYTES} bytes")]
    EmptyTag,
    #[error("tag is {length} bytes; the limit is {MAX_TAG_BYTES}")]
    TagTooLong { length: usize },
    #[error("tag {tag:?} is already used by an open order")]
    DuplicateTag { tag: String },
    #[error("product {product:?} is not configured; this run trades {configured}")]
    UnknownProduct { product: String, configured: String },
    #[error("size {value} is not a positive finite number")]
    InvalidSize { value: f64 },
    #[error("limit price {value} is not a positive finite number")]
    InvalidPrice { value: f64 },
    #[error("limit orders take a base size; convert the quote size {value} to base units")]
    LimitInQuoteSize { value: f64 },
    #[error("fill-or-kill is not available on spot markets; use immediate-or-cancel")]
    FillOrKillOnSpot,
    #[error("good-til-date expiry {expiry_ms} is not after the current time {now_ms}")]
    ExpiryNotInFuture { expiry_ms: i64, now_ms: i64 },
    #[error("insufficient cash: the order needs {required:.8} but {available:.8} is available")]
    InsufficientCash { required: f64, available: f64 },
    #[error("insufficient position: selling {requested:.8} but {available:.8} is held and not reserved")]
    InsufficientPosition { requested: f64, available: f64 },
    #[error("post-only limit {side} at {price} would take liquidity at the open {open}")]
    PostOnlyWouldCross { side: &'static str, price: f64, open: f64 },
    #[error("no open order has tag {tag:?}")]
    UnknownTag { tag: String },
}

/// Funds an accepted order reserves until it fills or ends.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Reservation {
    /// Quote units held for a buy.
    pub cash: f64,
    /// Base units held for a sell.
    pub base: f64,
}

/// The account state a new intent is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Exposure<'a> {
    pub product: &'a str,
    pub now_ms: i64,
    /// Latest close, used to estimate what a market order will cost.
    pub last_price: f64,
    pub available_cash: f64,
    pub available_position: f64,
    /// Highest fee rate that can apply, as a fraction (0.006 for 60 bps).
    pub max_fee_rate: f64,
    /// Slippage applied to market orders, as a fraction.
    pub slippage: f64,
}

fn is_positive_finite(value: f64) -> bool {
    value.is_finite() && value > 0.0
}

/// Checks an intent's shape and funds and returns what it must reserve.
///
/// # Errors
/// The first [`Rejection`] that applies.
pub fn check_intent<'t>(
    intent: &OrderIntent,
    open_tags: impl IntoIterator<Item = &'t str>,
    exposure: &Exposure<'_>,
) -> Result<Reservation, Rejection> {
    if intent.tag.is_empty() {
        return Err(Rejection::EmptyTag);
    }
    if intent.tag.len() > MAX_TAG_BYTES {
        return Err(Rejection::TagTooLong { length: intent.tag.len() });
    }
    if open_tags.into_iter().any(|tag| tag == intent.tag) {
        return Err(Rejection::DuplicateTag { tag: intent.tag.clone() });
    }
    if intent.product != exposure.product {
        return Err(Rejection::UnknownProduct {
            product: intent.product.clone(),
            configured: exposure.product.to_string(),
        });
    }

    let size = match intent.size {
        Size::Base(value) | Size::Quote(value) => value,
    };
    if !is_positive_finite(size) {
        return Err(Rejection::InvalidSize { value: size });
    }

    let price = match &intent.kind {
        OrderKind::Market => exposure.last_price * (1.0 + exposure.slippage),
        OrderKind::Limit(limit) => {
            if !is_positive_finite(limit.price) {
                return Err(Rejection::InvalidPrice { value: limit.price });
            }
            if let Size::Quote(value) = intent.size {
                return Err(Rejection::LimitInQuoteSize { value });
            }
            match limit.time_in_force {
                TimeInForce::FillOrKill => return Err(Rejection::FillOrKillOnSpot),
                TimeInForce::GoodTilDate(expiry_ms) if expiry_ms <= exposure.now_ms => {
                    return Err(Rejection::ExpiryNotInFuture { expiry_ms, now_ms: exposure.now_ms });
                }
                _ => {}
            }
            limit.price
        }
    };

    match (intent.side, intent.size) {
        (Side::Buy, Size::Quote(quote)) => {
            require_cash(quote, exposure)?;
            Ok(Reservation { cash: quote, base: 0.0 })
        }
        (Side::Buy, Size::Base(base)) => {
            let estimate = base * price * (1.0 + exposure.max_fee_rate);
            require_cash(estimate, exposure)?;
            Ok(Reservation { cash: estimate, base: 0.0 })
        }
        (Side::Sell, Size::Base(base)) => {
            require_position(base, exposure)?;
            Ok(Reservation { cash: 0.0, base })
        }
        (Side::Sell, Size::Quote(quote)) => {
            let estimate = quote / exposure.last_price;
            require_position(estimate, exposure)?;
            Ok(Reservation { cash: 0.0, base: estimate })
        }
    }
}

fn require_cash(required: f64, exposure: &Exposure<'_>) -> Result<(), Rejection> {
    if required > exposure.available_cash {
        return Err(Rejection::InsufficientCash { required, available: exposure.available_cash });
    }
    Ok(())
}

fn require_position(requested: f64, exposure: &Exposure<'_>) -> Result<(), Rejection> {
    if requested > exposure.available_position {
        return Err(Rejection::InsufficientPosition {
            requested,
            available: exposure.available_position,
        });
    }
    Ok(())
}
