//! Exact decimal sizes and prices for the wire.
//!
//! Strategies speak f64; Coinbase takes decimal strings on each product's
//! increments. An f64 is first read as the shortest decimal that prints back
//! to the same f64 (0.043, not 0.04299999999999999822), then rounded on the
//! increment. Sizes round down, so an order never exceeds what the strategy
//! requested. Limit prices round towards the strategy's side, so a buy
//! never pays more and a sell never takes less than the strategy's price.
//! The result is written in plain notation, never `9e-05`.

use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

/// A product's trading rules, as `GET /products/{id}` returns them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Increments {
    pub base_increment: Decimal,
    pub quote_increment: Decimal,
    pub price_increment: Decimal,
    pub base_min_size: Decimal,
    pub base_max_size: Option<Decimal>,
    pub quote_min_size: Decimal,
    pub quote_max_size: Option<Decimal>,
}

/// The reason a size or price cannot be sent. Every variant carries the
/// strategy's value and, where rounding happened, the rounded one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantizeError {
    #[error("{what} {value} is not a positive finite number")]
    NotPositiveFinite { what: &'static str, value: String },
    #[error("{what} {value} cannot be written as a decimal of at most 28 digits")]
    OutOfRange { what: &'static str, value: String },
    #[error("{what} {original} rounds down to {rounded} on the increment {increment}; send at least {increment}")]
    RoundsToZero { what: &'static str, original: String, rounded: String, increment: String },
    #[error("{what} {original} (rounded to {rounded}) is below the product's minimum of {minimum}")]
    BelowMinimum { what: &'static str, original: String, rounded: String, minimum: String },
    #[error("{what} {original} (rounded to {rounded}) is above the product's maximum of {maximum}")]
    AboveMaximum { what: &'static str, original: String, rounded: String, maximum: String },
    #[error(
        "order notional {notional} (size {size} at {price}) is below the product's minimum of {minimum} in the quote currency"
    )]
    NotionalBelowMinimum { notional: String, size: String, price: String, minimum: String },
}

/// Reads an f64 as the shortest decimal that round-trips to it.
///
/// # Errors
/// [`QuantizeError`] for NaN, infinities, zero, negatives, and values
/// `Decimal` cannot hold.
pub fn exact_decimal(what: &'static str, value: f64) -> Result<Decimal, QuantizeError> {
    if !(value.is_finite() && value > 0.0) {
        return Err(QuantizeError::NotPositiveFinite { what, value: value.to_string() });
    }
    // Rust prints an f64 as the shortest round-trip decimal, in plain
    // notation, which is exactly the number the strategy meant.
    let text = value.to_string();
    Decimal::from_str(&text).map_err(|_| QuantizeError::OutOfRange { what, value: text })
}

fn round_to(value: Decimal, increment: Decimal, strategy: RoundingStrategy) -> Decimal {
    if increment <= Decimal::ZERO {
        return value;
    }
    let steps = (value / increment).round_dp_with_strategy(0, strategy);
    (steps * increment).normalize()
}

/// Writes a decimal for the wire: plain notation, no trailing zeros.
pub fn wire(value: Decimal) -> String {
    value.normalize().to_string()
}

fn check_bounds(
    what: &'static str,
    original: Decimal,
    rounded: Decimal,
    increment: Decimal,
    minimum: Decimal,
    maximum: Option<Decimal>,
) -> Result<Decimal, QuantizeError> {
    if rounded <= Decimal::ZERO {
        return Err(QuantizeError::RoundsToZero {
            what,
            original: wire(original),
            rounded: wire(rounded),
            increment: wire(increment),
        });
    }
    if rounded < minimum {
        return Err(QuantizeError::BelowMinimum {
            what,
            original: wire(original),
            rounded: wire(rounded),
            minimum: wire(minimum),
        });
    }
    if let Some(maximum) = maximum
        && rounded > maximum
    {
        return Err(QuantizeError::AboveMaximum {
            what,
            original: wire(original),
            rounded: wire(rounded),
            maximum: wire(maximum),
        });
    }
    Ok(rounded)
}

impl Increments {
    /// Rounds a base size down to `base_increment` and checks the limits.
    ///
    /// # Errors
    /// [`QuantizeError`] when the size is not positive, rounds to zero, or
    /// falls outside the product's minimum and maximum.
    pub fn base_size(&self, size: f64) -> Result<Decimal, QuantizeError> {
        let original = exact_decimal("base size", size)?;
        let rounded = round_to(original, self.base_increment, RoundingStrategy::ToZero);
        check_bounds("base size", original, rounded, self.base_increment, self.base_min_size, self.base_max_size)
    }

    /// Rounds a quote size down to `quote_increment`, and down to the
    /// available balance when one is given, then checks the limits.
    ///
    /// # Errors
    /// [`QuantizeError`] when the size is not positive, rounds to zero, or
    /// falls outside the product's minimum and maximum.
    pub fn quote_size(&self, size: f64, available: Option<Decimal>) -> Result<Decimal, QuantizeError> {
        let original = exact_decimal("quote size", size)?;
        let capped = match available {
            Some(available) if available < original => available,
            _ => original,
        };
        let rounded = round_to(capped, self.quote_increment, RoundingStrategy::ToZero);
        check_bounds("quote size", original, rounded, self.quote_increment, self.quote_min_size, self.quote_max_size)
    }

    /// Checks that `size` at `price` is worth at least the product's minimum
    /// quote size.
    ///
    /// # Errors
    /// [`QuantizeError::NotionalBelowMinimum`] with the size, price and
    /// notional.
    pub fn check_notional(&self, size: Decimal, price: Decimal) -> Result<(), QuantizeError> {
        let notional = size * price;
        if notional < self.quote_min_size {
            return Err(QuantizeError::NotionalBelowMinimum {
                notional: wire(notional),
                size: wire(size),
                price: wire(price),
                minimum: wire(self.quote_min_size),
            });
        }
        Ok(())
    }

    /// Rounds a limit price to `price_increment`: down for a buy, up for a
    /// sell, so the order never crosses the strategy's own price.
    ///
    /// # Errors
    /// [`QuantizeError`] when the price is not positive or rounds to zero.
    pub fn limit_price(&self, price: f64, buy: bool) -> Result<Decimal, QuantizeError> {
        let original = exact_decimal("limit price", price)?;
        let direction = if buy { RoundingStrategy::ToZero } else { RoundingStrategy::AwayFromZero };
        let rounded = round_to(original, self.price_increment, direction);
        check_bounds("limit price", original, rounded, self.price_increment, Decimal::ZERO, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decimal(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn btc_usd() -> Increments {
        Increments {
            base_increment: decimal("0.00000001"),
            quote_increment: decimal("0.01"),
            price_increment: decimal("0.01"),
            base_min_size: decimal("0.00000001"),
            base_max_size: None,
            quote_min_size: decimal("1"),
            quote_max_size: None,
        }
    }

    fn xrp_btc() -> Increments {
        Increments {
            base_increment: decimal("1"),
            quote_increment: decimal("0.00000001"),
            price_increment: decimal("0.00000001"),
            base_min_size: decimal("1"),
            base_max_size: None,
            quote_min_size: decimal("0.000016"),
            quote_max_size: None,
        }
    }

    #[test]
    fn xrp_size_rounds_down_to_whole_units() {
        assert_eq!(wire(xrp_btc().base_size(41.68273866).unwrap()), "41");
    }

    #[test]
    fn market_buy_quote_rounds_down_to_cents() {
        assert_eq!(wire(btc_usd().quote_size(150.4926, None).unwrap()), "150.49");
    }

    #[test]
    fn sub_satoshi_sell_is_rejected_before_sending() {
        let error = btc_usd().base_size(0.000000004).unwrap_err();
        assert_eq!(
            error,
            QuantizeError::RoundsToZero {
                what: "base size",
                original: "0.000000004".into(),
                rounded: "0".into(),
                increment: "0.00000001".into(),
            }
        );
    }

    #[test]
    fn small_size_is_written_without_exponent() {
        assert_eq!(wire(btc_usd().base_size(0.00009).unwrap()), "0.00009");
    }

    #[test]
    fn size_is_written_without_float_noise() {
        assert_eq!(wire(btc_usd().base_size(0.043).unwrap()), "0.043");
    }

    #[test]
    fn quote_never_exceeds_available_balance() {
        let size = btc_usd().quote_size(500.0, Some(decimal("123.456"))).unwrap();
        assert_eq!(wire(size), "123.45");
    }

    #[test]
    fn quote_below_minimum_names_both_values() {
        let error = btc_usd().quote_size(0.999, None).unwrap_err();
        assert_eq!(error.to_string(), "quote size 0.999 (rounded to 0.99) is below the product's minimum of 1");
    }

    #[test]
    fn buy_limit_rounds_down_sell_limit_rounds_up() {
        assert_eq!(wire(btc_usd().limit_price(42000.129, true).unwrap()), "42000.12");
        assert_eq!(wire(btc_usd().limit_price(42000.121, false).unwrap()), "42000.13");
    }

    #[test]
    fn price_on_the_tick_is_unchanged() {
        assert_eq!(wire(btc_usd().limit_price(42000.5, false).unwrap()), "42000.5");
    }

    #[test]
    fn limit_notional_below_minimum_is_rejected() {
        let error = btc_usd().check_notional(decimal("0.00001"), decimal("42000")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "order notional 0.42 (size 0.00001 at 42000) is below the product's minimum of 1 in the quote currency"
        );
    }

    #[test]
    fn nan_size_is_rejected() {
        assert!(matches!(btc_usd().base_size(f64::NAN), Err(QuantizeError::NotPositiveFinite { .. })));
    }

    #[test]
    fn huge_size_is_out_of_range() {
        assert!(matches!(btc_usd().base_size(1e300), Err(QuantizeError::OutOfRange { .. })));
    }
}
