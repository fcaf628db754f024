//! Order entry: parsing a create-order request, validating it against the product's rules and
//! the account's funds, then placing it.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Exchange, Liquidity, Order, OrderKind, OrderStatus, Side, TAKER_FEE_RATE};
use crate::config::Product;

/// Body of `POST /orders`. Unknown fields are ignored.
#[derive(Debug, Deserialize)]
pub struct CreateOrderRequest {
    pub client_order_id: String,
    pub product_id: String,
    pub side: String,
    pub order_configuration: Map<String, Value>,
}

/// A well-formed order that the venue rejects with `success: false`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// Coinbase failure reason, e.g. `INSUFFICIENT_FUND`.
    pub reason: &'static str,
    pub message: String,
}

/// Why an order was not placed.
#[derive(Debug)]
pub enum PlaceError {
    /// The request is malformed: HTTP 400 `INVALID_ARGUMENT`.
    InvalidArgument(String),
    Rejected(Rejection),
}

fn reject(reason: &'static str, message: impl Into<String>) -> PlaceError {
    PlaceError::Rejected(Rejection {
        reason,
        message: message.into(),
    })
}

/// Order configuration after parsing, before the checks that need the price and the account.
struct Parsed {
    kind: OrderKind,
    base_size: Option<Decimal>,
    quote_size: Option<Decimal>,
    limit_price: Option<Decimal>,
    post_only: bool,
}

fn field_decimal(fields: &Map<String, Value>, name: &str) -> Result<Option<Decimal>, PlaceError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Decimal::from_str(text).map(Some).map_err(|_| {
            PlaceError::InvalidArgument(format!("{name} {text:?} is not a decimal string"))
        }),
        Some(other) => Err(PlaceError::InvalidArgument(format!(
            "{name} must be a decimal string such as \"0.001\", found {other}"
        ))),
    }
}

fn parse_configuration(configuration: &Map<String, Value>) -> Result<Parsed, PlaceError> {
    if configuration.len() != 1 {
        return Err(reject(
            "UNSUPPORTED_ORDER_CONFIGURATION",
            format!(
                "order_configuration must have exactly one key, found {}",
                configuration.len()
            ),
        ));
    }
    let (name, fields) = configuration.iter().next().expect("one key checked above");
    let Some(fields) = fields.as_object() else {
        return Err(PlaceError::InvalidArgument(format!(
            "order_configuration.{name} must be an object"
        )));
    };
    let base_size = field_decimal(fields, "base_size")?;
    let quote_size = field_decimal(fields, "quote_size")?;
    let limit_price = field_decimal(fields, "limit_price")?;
    let post_only = fields
        .get("post_only")
        .and_then(Value::as_bool)
        .unwrap_or(false);

    let kind = match name.as_str() {
        "market_market_ioc" => OrderKind::MarketIoc,
        "sor_limit_ioc" => OrderKind::LimitIoc,
        "limit_limit_gtc" => OrderKind::LimitGtc,
        "limit_limit_gtd" => {
            let end_time = fields
                .get("end_time")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    PlaceError::InvalidArgument(
                        "limit_limit_gtd needs end_time in RFC 3339".to_string(),
                    )
                })?;
            let end_time = DateTime::parse_from_rfc3339(end_time).map_err(|_| {
                PlaceError::InvalidArgument(format!("end_time {end_time:?} is not RFC 3339"))
            })?;
            OrderKind::LimitGtd(end_time.with_timezone(&Utc))
        }
        "limit_limit_fok" => {
            return Err(reject(
                "UNSUPPORTED_ORDER_CONFIGURATION",
                "fill-or-kill orders are not supported on spot",
            ));
        }
        // NOTE: stop-limit and the other order types are rejected rather than simulated.
        other => {
            return Err(reject(
                "UNSUPPORTED_ORDER_CONFIGURATION",
                format!("order configuration {other} is not supported"),
            ));
        }
    };

    match kind {
        OrderKind::MarketIoc if base_size.is_some() == quote_size.is_some() => {
            Err(PlaceError::InvalidArgument(
                "market_market_ioc needs exactly one of base_size and quote_size".to_string(),
            ))
        }
        OrderKind::MarketIoc => Ok(Parsed {
            kind,
            base_size,
            quote_size,
            limit_price: None,
            post_only: false,
        }),
        _ if base_size.is_none() || limit_price.is_none() => Err(PlaceError::InvalidArgument(
            format!("{name} needs base_size and limit_price"),
        )),
        _ => Ok(Parsed {
            kind,
            base_size,
            quote_size: None,
            limit_price,
            post_only,
        }),
    }
}

fn on_grid(value: Decimal, increment: Decimal) -> bool {
    increment.is_zero() || (value % increment).is_zero()
}

fn check_sizes(product: &Product, base: Decimal, notional: Decimal) -> Result<(), PlaceError> {
    if base < product.base_min_size {
        return Err(reject(
            "INVALID_BASE_SIZE_TOO_SMALL",
            format!(
                "base size {base} is below the minimum {}",
                product.base_min_size
            ),
        ));
    }
    if base > product.base_max_size {
        return Err(reject(
            "INVALID_BASE_SIZE_TOO_LARGE",
            format!(
                "base size {base} is above the maximum {}",
                product.base_max_size
            ),
        ));
    }
    if notional < product.quote_min_size {
        return Err(reject(
            "INVALID_QUOTE_SIZE_TOO_SMALL",
            format!(
                "quote size {notional} is below the minimum {}",
                product.quote_min_size
            ),
        ));
    }
    if notional > product.quote_max_size {
        return Err(reject(
            "INVALID_QUOTE_SIZE_TOO_LARGE",
            format!(
                "quote size {notional} is above the maximum {}",
                product.quote_max_size
            ),
        ));
    }
    Ok(())
}

impl Exchange {
    /// Validates and places an order, filling it at once when it is a market order or a limit
    /// order that crosses the current price. Returns the index of the new order.
    ///
    /// # Errors
    /// `InvalidArgument` for a malformed request, `Rejected` with Coinbase's failure reason for
    /// an order the venue declines. A rejected order changes no state.
    pub fn place(&mut self, request: &CreateOrderRequest) -> Result<usize, PlaceError> {
        // NOTE: a repeated client_order_id places another order. Coinbase's handling of
        // repeats is unconfirmed, so this takes the case that exposes a duplicate.
        let product = self.product(&request.product_id).cloned().ok_or_else(|| {
            reject(
                "INVALID_PRODUCT_ID",
                format!("product {} is not listed", request.product_id),
            )
        })?;
        let side = match request.side.as_str() {
            "BUY" => Side::Buy,
            "SELL" => Side::Sell,
            other => {
                return Err(PlaceError::InvalidArgument(format!(
                    "side {other:?} is not BUY or SELL"
                )));
            }
        };
        if product.trading_disabled || product.cancel_only {
            return Err(reject(
                "ORDER_ENTRY_DISABLED",
                format!("product {} accepts no new orders", product.product_id),
            ));
        }
        let parsed = parse_configuration(&request.order_configuration)?;
        let price = self.price(&product);

        if let Some(base) = parsed.base_size
            && !on_grid(base, product.base_increment)
        {
            return Err(reject(
                "INVALID_SIZE_PRECISION",
                format!(
                    "base size {base} is not a multiple of base_increment {}",
                    product.base_increment
                ),
            ));
        }
        if let Some(quote) = parsed.quote_size
            && !on_grid(quote, product.quote_increment)
        {
            return Err(reject(
                "INVALID_SIZE_PRECISION",
                format!(
                    "quote size {quote} is not a multiple of quote_increment {}",
                    product.quote_increment
                ),
            ));
        }
        if let Some(limit) = parsed.limit_price
            && (limit <= Decimal::ZERO || !on_grid(limit, product.price_increment))
        {
            return Err(reject(
                "INVALID_PRICE_PRECISION",
                format!(
                    "limit price {limit} is not a positive multiple of price_increment {}",
                    product.price_increment
                ),
            ));
        }
        if product.limit_only && parsed.kind == OrderKind::MarketIoc {
            return Err(reject(
                "INVALID_ORDER_TYPE",
                format!("product {} accepts only limit orders", product.product_id),
            ));
        }

        // A quote-sized market order buys or sells what the quote amount pays for, fees included
        // for a buy, rounded down to the base increment.
        let base_size = match (parsed.base_size, parsed.quote_size) {
            (Some(base), _) => base,
            (None, Some(quote)) => {
                let spend = match side {
                    Side::Buy => quote / (Decimal::ONE + TAKER_FEE_RATE),
                    Side::Sell => quote,
                };
                let lots = (spend / price / product.base_increment).floor();
                lots * product.base_increment
            }
            (None, None) => unreachable!("parse_configuration requires a size"),
        };
        let order_price = parsed.limit_price.unwrap_or(price);
        let notional = parsed.quote_size.unwrap_or(base_size * order_price);
        check_sizes(&product, base_size, notional)?;

        let crosses = match (side, parsed.limit_price) {
            (_, None) => true,
            (Side::Buy, Some(limit)) => limit >= price,
            (Side::Sell, Some(limit)) => limit <= price,
        };
        if parsed.post_only && crosses {
            return Err(reject(
                "INVALID_LIMIT_PRICE_POST_ONLY",
                format!(
                    "post-only limit price {order_price} would cross the current price {price}"
                ),
            ));
        }
        if let OrderKind::LimitGtd(end_time) = parsed.kind
            && end_time <= Utc::now()
        {
            return Err(reject(
                "INVALID_END_TIME",
                format!("end_time {end_time} is in the past"),
            ));
        }

        let (hold_currency, hold) = match side {
            Side::Buy => (
                product.quote_currency.clone(),
                parsed
                    .quote_size
                    .unwrap_or(base_size * order_price * (Decimal::ONE + TAKER_FEE_RATE)),
            ),
            Side::Sell => (product.base_currency.clone(), base_size),
        };
        let available = self
            .accounts
            .get(&hold_currency)
            .map(|account| account.available)
            .unwrap_or_default();
        if available < hold {
            return Err(reject(
                "INSUFFICIENT_FUND",
                format!("order needs {hold} {hold_currency}, available is {available}"),
            ));
        }

        let account = self.account(&hold_currency);
        account.available -= hold;
        account.hold += hold;
        let order_id = self.new_id();
        self.orders.push(Order {
            order_id,
            client_order_id: request.client_order_id.clone(),
            product_id: product.product_id.clone(),
            side,
            kind: parsed.kind,
            configuration: Value::Object(request.order_configuration.clone()),
            base_size,
            quote_size: parsed.quote_size,
            limit_price: parsed.limit_price,
            post_only: parsed.post_only,
            status: OrderStatus::Open,
            created_time: Utc::now(),
            filled_size: Decimal::ZERO,
            filled_value: Decimal::ZERO,
            total_fees: Decimal::ZERO,
            number_of_fills: 0,
            last_fill_time: None,
            hold,
        });
        let index = self.orders.len() - 1;
        self.publish(&self.orders[index]);

        if crosses {
            self.fill(index, price, Liquidity::Taker);
        } else if parsed.kind == OrderKind::LimitIoc {
            self.close(index, OrderStatus::Cancelled);
        }
        Ok(index)
    }
}
