//! Response bodies of the REST API. Decimal fields are strings on the wire
//! and become `Decimal` here. Fields the client does not use are ignored,
//! so new fields from the venue do not break it.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};

/// Reads a decimal sent as a string, tolerating an empty string as absent.
fn decimal_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Decimal>, D::Error> {
    let text: Option<String> = Option::deserialize(deserializer)?;
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ServerTime {
    pub iso: String,
    #[serde(rename = "epochMillis")]
    pub epoch_millis: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Product {
    pub product_id: String,
    #[serde(default, deserialize_with = "decimal_string")]
    pub price: Option<Decimal>,
    #[serde(deserialize_with = "decimal_string")]
    pub base_increment: Option<Decimal>,
    #[serde(deserialize_with = "decimal_string")]
    pub quote_increment: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_string")]
    pub price_increment: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_string")]
    pub base_min_size: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_string")]
    pub base_max_size: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_string")]
    pub quote_min_size: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_string")]
    pub quote_max_size: Option<Decimal>,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub trading_disabled: bool,
    #[serde(default)]
    pub cancel_only: bool,
    #[serde(default)]
    pub limit_only: bool,
    #[serde(default)]
    pub post_only: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProductList {
    pub products: Vec<Product>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct RestCandle {
    /// Start of the bucket, unix seconds as a string.
    pub start: String,
    pub low: String,
    pub high: String,
    pub open: String,
    pub close: String,
    pub volume: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CandleList {
    pub candles: Vec<RestCandle>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Amount {
    #[serde(deserialize_with = "decimal_string")]
    pub value: Option<Decimal>,
    pub currency: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Account {
    #[serde(default)]
    pub uuid: String,
    pub currency: String,
    pub available_balance: Amount,
    #[serde(default)]
    pub hold: Option<Amount>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AccountList {
    pub accounts: Vec<Account>,
    #[serde(default)]
    pub has_next: bool,
    #[serde(default)]
    pub cursor: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct KeyPermissions {
    pub can_view: bool,
    pub can_trade: bool,
    pub can_transfer: bool,
    #[serde(default)]
    pub portfolio_uuid: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Order {
    pub order_id: String,
    pub product_id: String,
    #[serde(default)]
    pub client_order_id: String,
    pub side: String,
    pub status: String,
    #[serde(default, deserialize_with = "decimal_string")]
    pub filled_size: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_string")]
    pub average_filled_price: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_string")]
    pub total_fees: Option<Decimal>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OrderEnvelope {
    pub order: Order,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OrderList {
    pub orders: Vec<Order>,
    #[serde(default)]
    pub has_next: bool,
    #[serde(default)]
    pub cursor: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Fill {
    #[serde(default)]
    pub entry_id: String,
    #[serde(default)]
    pub trade_id: String,
    pub order_id: String,
    pub product_id: String,
    #[serde(deserialize_with = "decimal_string")]
    pub price: Option<Decimal>,
    #[serde(deserialize_with = "decimal_string")]
    pub size: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_string")]
    pub commission: Option<Decimal>,
    #[serde(default)]
    pub liquidity_indicator: String,
    pub side: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FillList {
    pub fills: Vec<Fill>,
    #[serde(default)]
    pub cursor: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct BestBidAsk {
    pub product_id: String,
    #[serde(default)]
    pub bids: Vec<PriceLevel>,
    #[serde(default)]
    pub asks: Vec<PriceLevel>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct PriceLevel {
    #[serde(deserialize_with = "decimal_string")]
    pub price: Option<Decimal>,
    #[serde(deserialize_with = "decimal_string")]
    pub size: Option<Decimal>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BestBidAskList {
    pub pricebooks: Vec<BestBidAsk>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CreateOrderResponse {
    pub success: bool,
    #[serde(default)]
    pub success_response: Option<CreateOrderSuccess>,
    #[serde(default)]
    pub error_response: Option<CreateOrderFailure>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct CreateOrderSuccess {
    pub order_id: String,
    #[serde(default)]
    pub product_id: String,
    #[serde(default)]
    pub client_order_id: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
pub struct CreateOrderFailure {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub error_details: String,
    #[serde(default)]
    pub preview_failure_reason: String,
    #[serde(default)]
    pub new_order_failure_reason: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CancelResults {
    pub results: Vec<CancelResult>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct CancelResult {
    pub success: bool,
    #[serde(default)]
    pub failure_reason: String,
    pub order_id: String,
}
