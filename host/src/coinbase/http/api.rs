//! The endpoints the host uses, one method each.

use reqwest::Method;
use serde_json::json;

use super::client::{Repeat, RestClient, RestError};
use super::models::{
    Account, AccountList, BestBidAsk, BestBidAskList, CancelResult, CancelResults, CandleList, CreateOrderResponse,
    Fill, FillList, KeyPermissions, Order, OrderEnvelope, OrderList, Product, ProductList, RestCandle, ServerTime,
};
use crate::coinbase::decimal::Increments;

/// Filters of `list_orders`; empty fields are not sent.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub order_ids: Vec<String>,
    pub product_ids: Vec<String>,
    pub order_status: Vec<String>,
    pub client_order_id: Option<String>,
    pub limit: Option<u32>,
}

/// Filters of `list_fills`; empty fields are not sent.
#[derive(Debug, Clone, Default)]
pub struct FillFilter {
    pub order_ids: Vec<String>,
    pub product_ids: Vec<String>,
    pub limit: Option<u32>,
}

/// Candle widths the candles endpoint accepts, with their length in seconds.
pub const GRANULARITIES: &[(&str, i64)] = &[
    ("ONE_MINUTE", 60),
    ("FIVE_MINUTE", 300),
    ("FIFTEEN_MINUTE", 900),
    ("THIRTY_MINUTE", 1800),
    ("ONE_HOUR", 3600),
    ("TWO_HOUR", 7200),
    ("SIX_HOUR", 21_600),
    ("ONE_DAY", 86_400),
];

/// Candles one request may ask for.
pub const MAX_CANDLES_PER_REQUEST: i64 = 350;

fn repeated<'a>(key: &'static str, values: &'a [String]) -> impl Iterator<Item = (&'static str, String)> + 'a {
    values.iter().map(move |value| (key, value.clone()))
}

impl Product {
    /// Returns the product's increments and limits for quantising orders.
    ///
    /// # Errors
    /// A message naming the product and the field it lacks.
    pub fn increments(&self) -> Result<Increments, String> {
        let missing = |field: &str| format!("product {} has no {field}", self.product_id);
        let base_increment = self.base_increment.ok_or_else(|| missing("base_increment"))?;
        let quote_increment = self.quote_increment.ok_or_else(|| missing("quote_increment"))?;
        Ok(Increments {
            base_increment,
            quote_increment,
            price_increment: self.price_increment.unwrap_or(quote_increment),
            base_min_size: self.base_min_size.unwrap_or(base_increment),
            base_max_size: self.base_max_size,
            quote_min_size: self.quote_min_size.unwrap_or(quote_increment),
            quote_max_size: self.quote_max_size,
        })
    }

    /// True when new orders may be placed.
    pub fn is_tradable(&self) -> bool {
        self.status.eq_ignore_ascii_case("online") && !self.trading_disabled && !self.cancel_only
    }
}

impl RestClient {
    /// # Errors
    /// [`RestError`] as for every request.
    pub async fn server_time(&self) -> Result<ServerTime, RestError> {
        self.send(Method::GET, "/time", &[], None, false, Repeat::Safe).await
    }

    /// # Errors
    /// [`RestError`] as for every request.
    pub async fn products(&self) -> Result<Vec<Product>, RestError> {
        let list: ProductList = self.send(Method::GET, "/products", &[], None, true, Repeat::Safe).await?;
        Ok(list.products)
    }

    /// # Errors
    /// [`RestError`] as for every request.
    pub async fn product(&self, product_id: &str) -> Result<Product, RestError> {
        self.send(Method::GET, &format!("/products/{product_id}"), &[], None, true, Repeat::Safe).await
    }

    /// Reads a product from the public endpoint, which needs no key.
    ///
    /// # Errors
    /// [`RestError`] as for every request.
    pub async fn public_product(&self, product_id: &str) -> Result<Product, RestError> {
        self.send(Method::GET, &format!("/market/products/{product_id}"), &[], None, false, Repeat::Safe).await
    }

    /// Candles between `start` and `end` (unix seconds), newest first as
    /// the venue sends them, from the public endpoint.
    ///
    /// # Errors
    /// [`RestError`] as for every request.
    pub async fn public_candles(
        &self,
        product_id: &str,
        start: i64,
        end: i64,
        granularity: &str,
    ) -> Result<Vec<RestCandle>, RestError> {
        let query = [
            ("start", start.to_string()),
            ("end", end.to_string()),
            ("granularity", granularity.to_string()),
            ("limit", MAX_CANDLES_PER_REQUEST.to_string()),
        ];
        let path = format!("/market/products/{product_id}/candles");
        let list: CandleList = self.send(Method::GET, &path, &query, None, false, Repeat::Safe).await?;
        Ok(list.candles)
    }

    /// Lists every account, following the pagination cursor.
    ///
    /// # Errors
    /// [`RestError`] as for every request.
    pub async fn accounts(&self) -> Result<Vec<Account>, RestError> {
        let mut accounts = Vec::new();
        let mut cursor = String::new();
        // A bound on pages keeps a venue that always sets has_next from
        // looping forever.
        for _ in 0..100 {
            let mut query = vec![("limit", "250".to_string())];
            if !cursor.is_empty() {
                query.push(("cursor", cursor.clone()));
            }
            let page: AccountList = self.send(Method::GET, "/accounts", &query, None, true, Repeat::Safe).await?;
            accounts.extend(page.accounts);
            if !page.has_next || page.cursor.is_empty() {
                break;
            }
            cursor = page.cursor;
        }
        Ok(accounts)
    }

    /// # Errors
    /// [`RestError`] as for every request.
    pub async fn best_bid_ask(&self, product_ids: &[String]) -> Result<Vec<BestBidAsk>, RestError> {
        let query: Vec<_> = repeated("product_ids", product_ids).collect();
        let list: BestBidAskList = self.send(Method::GET, "/best_bid_ask", &query, None, true, Repeat::Safe).await?;
        Ok(list.pricebooks)
    }

    /// # Errors
    /// [`RestError`] as for every request.
    pub async fn key_permissions(&self) -> Result<KeyPermissions, RestError> {
        self.send(Method::GET, "/key_permissions", &[], None, true, Repeat::Safe).await
    }

    /// Sends one create-order request, once. A caller that gets an error
    /// with an unknown outcome must look the order up before sending again;
    /// [`super::orders::OrderSubmitter`] does.
    ///
    /// # Errors
    /// [`RestError`] as for every request.
    pub async fn create_order(&self, body: &serde_json::Value) -> Result<CreateOrderResponse, RestError> {
        self.send(Method::POST, "/orders", &[], Some(body), true, Repeat::Never).await
    }

    /// # Errors
    /// [`RestError`] as for every request.
    pub async fn cancel_orders(&self, order_ids: &[String]) -> Result<Vec<CancelResult>, RestError> {
        let body = json!({ "order_ids": order_ids });
        let results: CancelResults =
            self.send(Method::POST, "/orders/batch_cancel", &[], Some(&body), true, Repeat::Safe).await?;
        Ok(results.results)
    }

    /// # Errors
    /// [`RestError`] as for every request.
    pub async fn order(&self, order_id: &str) -> Result<Order, RestError> {
        let path = format!("/orders/historical/{order_id}");
        let envelope: OrderEnvelope = self.send(Method::GET, &path, &[], None, true, Repeat::Safe).await?;
        Ok(envelope.order)
    }

    /// # Errors
    /// [`RestError`] as for every request.
    pub async fn list_orders(&self, filter: &OrderFilter) -> Result<Vec<Order>, RestError> {
        let mut query: Vec<(&str, String)> = repeated("order_ids", &filter.order_ids)
            .chain(repeated("product_ids", &filter.product_ids))
            .chain(repeated("order_status", &filter.order_status))
            .collect();
        if let Some(client_order_id) = &filter.client_order_id {
            query.push(("client_order_id", client_order_id.clone()));
        }
        if let Some(limit) = filter.limit {
            query.push(("limit", limit.to_string()));
        }
        let list: OrderList = self.send(Method::GET, "/orders/historical/batch", &query, None, true, Repeat::Safe).await?;
        Ok(list.orders)
    }

    /// # Errors
    /// [`RestError`] as for every request.
    pub async fn list_fills(&self, filter: &FillFilter) -> Result<Vec<Fill>, RestError> {
        let mut query: Vec<(&str, String)> =
            repeated("order_ids", &filter.order_ids).chain(repeated("product_ids", &filter.product_ids)).collect();
        if let Some(limit) = filter.limit {
            query.push(("limit", limit.to_string()));
        }
        let list: FillList = self.send(Method::GET, "/orders/historical/fills", &query, None, true, Repeat::Safe).await?;
        Ok(list.fills)
    }
}
