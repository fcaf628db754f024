//! Turning a strategy's order intent into a create-order request, and
//! submitting it so that one intent makes at most one venue order.

use rust_decimal::Decimal;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::api::OrderFilter;
use super::client::{RestClient, RestError};
use super::models::{CreateOrderFailure, Order};
use crate::coinbase::decimal::{Increments, QuantizeError, wire};
use crate::strategy::{OrderIntent, OrderKind, Side, Size, TimeInForce};

/// Derives the client order id of an intent from the strategy, its tag and
/// a per-strategy sequence number, so that a retry after a restart names the
/// same order. Formatted like a UUID, as Coinbase's examples use.
pub fn client_order_id(strategy_id: &str, tag: &str, sequence: u64) -> String {
    let digest = Sha256::digest(format!("{strategy_id}\u{1f}{tag}\u{1f}{sequence}"));
    let hex = hex::encode(&digest[..16]);
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// Builds the JSON body of a create-order request, with sizes and prices
/// quantised on the product's increments. `available_quote` caps a market
/// buy in quote size at the available balance.
///
/// # Errors
/// [`QuantizeError`] when a size or price cannot be sent; nothing is sent
/// then.
pub fn order_body(
    intent: &OrderIntent,
    client_order_id: &str,
    increments: &Increments,
    available_quote: Option<Decimal>,
) -> Result<Value, QuantizeError> {
    let side = match intent.side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    };
    let buy = intent.side == Side::Buy;

    let configuration = match (&intent.kind, intent.size) {
        (OrderKind::Market, Size::Quote(quote)) => {
            let cap = if buy { available_quote } else { None };
            json!({ "market_market_ioc": { "quote_size": wire(increments.quote_size(quote, cap)?) } })
        }
        (OrderKind::Market, Size::Base(base)) => {
            json!({ "market_market_ioc": { "base_size": wire(increments.base_size(base)?) } })
        }
        (OrderKind::Limit(limit), size) => {
            // Coinbase takes limit orders in base size only; the pre-trade
            // checks reject quote-sized limits before they get here.
            let base = match size {
                Size::Base(base) | Size::Quote(base) => base,
            };
            let base_size = increments.base_size(base)?;
            let price = increments.limit_price(limit.price, buy)?;
            increments.check_notional(base_size, price)?;
            let (base_size, limit_price) = (wire(base_size), wire(price));
            match limit.time_in_force {
                TimeInForce::GoodTilCancelled => json!({ "limit_limit_gtc": {
                    "base_size": base_size, "limit_price": limit_price, "post_only": limit.post_only } }),
                TimeInForce::GoodTilDate(expiry_ms) => {
                    let end_time = chrono::DateTime::from_timestamp_millis(expiry_ms)
                        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                        .unwrap_or_default();
                    json!({ "limit_limit_gtd": {
                        "base_size": base_size, "limit_price": limit_price, "post_only": limit.post_only,
                        "end_time": end_time } })
                }
                TimeInForce::ImmediateOrCancel => {
                    json!({ "sor_limit_ioc": { "base_size": base_size, "limit_price": limit_price } })
                }
                TimeInForce::FillOrKill => {
                    json!({ "limit_limit_fok": { "base_size": base_size, "limit_price": limit_price } })
                }
            }
        }
    };

    Ok(json!({
        "client_order_id": client_order_id,
        "product_id": intent.product,
        "side": side,
        "order_configuration": configuration,
    }))
}

/// The result of a submission.
#[derive(Debug, Clone, PartialEq)]
pub enum Submission {
    /// The venue accepted the order.
    Accepted { order_id: String },
    /// The venue refused it; `reason` is its failure reason, for example
    /// `INSUFFICIENT_FUND`.
    Rejected { reason: String, message: String },
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Rest(#[from] RestError),
    #[error(
        "order {client_order_id} is in flight: its create request got no clear answer and the venue \
         could not be asked whether it exists; it will be looked up again before any resend"
    )]
    InFlight { client_order_id: String },
}

/// Submits orders so that an unclear response never becomes a duplicate.
/// The order is looked up by its client order id, and sent again only when
/// the venue confirms it does not exist.
pub struct OrderSubmitter<'a> {
    client: &'a RestClient,
    /// Create attempts per order, first send included.
    pub max_sends: u32,
}

impl<'a> OrderSubmitter<'a> {
    pub fn new(client: &'a RestClient) -> OrderSubmitter<'a> {
        OrderSubmitter { client, max_sends: 5 }
    }

    /// Submits `body` (from [`order_body`]).
    ///
    /// # Errors
    /// [`SubmitError::InFlight`] when the outcome stays unknown; other
    /// [`RestError`]s when the venue returned an error.
    pub async fn submit(&self, body: &Value) -> Result<Submission, SubmitError> {
        let client_order_id = body["client_order_id"].as_str().unwrap_or_default().to_string();
        for send in 1..=self.max_sends {
            match self.client.create_order(body).await {
                Ok(response) if response.success => {
                    let order_id = response.success_response.map(|success| success.order_id).unwrap_or_default();
                    return Ok(Submission::Accepted { order_id });
                }
                Ok(response) => return Ok(rejection(response.error_response.unwrap_or_default())),
                // A 429 means the venue did not take the order: wait, then send again.
                Err(RestError::RateLimited { .. }) if send < self.max_sends => {
                    let delay = self.client.retry_delay(send - 1);
                    tracing::warn!(client_order_id, send, delay_ms = delay.as_millis() as u64, "create-order rate limited; waiting");
                    tokio::time::sleep(delay).await;
                }
                Err(error) if error.outcome_unknown() => {
                    tracing::warn!(client_order_id, send, %error, "create-order outcome unknown; looking the order up");
                    match self.find(&client_order_id).await {
                        Ok(Some(order)) => return Ok(Submission::Accepted { order_id: order.order_id }),
                        Ok(None) => {
                            tracing::info!(client_order_id, "venue confirms the order does not exist; sending again");
                        }
                        Err(lookup) => {
                            tracing::warn!(client_order_id, error = %lookup, "order lookup failed");
                            return Err(SubmitError::InFlight { client_order_id });
                        }
                    }
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(SubmitError::InFlight { client_order_id })
    }

    async fn find(&self, client_order_id: &str) -> Result<Option<Order>, RestError> {
        let filter = OrderFilter { client_order_id: Some(client_order_id.to_string()), ..OrderFilter::default() };
        let orders = self.client.list_orders(&filter).await?;
        // Filter here too: a venue that ignores the parameter returns other
        // orders.
        Ok(orders.into_iter().find(|order| order.client_order_id == client_order_id))
    }
}

fn rejection(failure: CreateOrderFailure) -> Submission {
    let reason = [&failure.new_order_failure_reason, &failure.preview_failure_reason, &failure.error]
        .into_iter()
        .find(|reason| !reason.is_empty() && !reason.starts_with("UNKNOWN"))
        .cloned()
        .unwrap_or_else(|| "UNKNOWN_FAILURE_REASON".to_string());
    Submission::Rejected { reason, message: failure.message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_order_id_is_deterministic_and_distinct() {
        let first = client_order_id("sma", "buy-1", 1);
        assert_eq!(first, client_order_id("sma", "buy-1", 1));
        assert_ne!(first, client_order_id("sma", "buy-1", 2));
        assert_ne!(first, client_order_id("sma2", "buy-1", 1));
        assert_eq!(first.len(), 36);
    }
}
