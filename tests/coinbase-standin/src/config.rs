//! Configuration of a stand-in: accepted keys, products, starting balances and the price series.

use std::time::Duration;

use rust_decimal::Decimal;

use crate::auth::VerifyingKey;
use crate::candles::Candle;

/// Scopes reported by `GET /key_permissions` and enforced on the private endpoints.
#[derive(Clone, Debug)]
pub struct KeyPermissions {
    pub can_view: bool,
    pub can_trade: bool,
    pub can_transfer: bool,
    pub portfolio_uuid: String,
}

impl Default for KeyPermissions {
    /// View and trade, no transfer: the scopes a trading host should use.
    fn default() -> Self {
        KeyPermissions {
            can_view: true,
            can_trade: true,
            can_transfer: false,
            portfolio_uuid: DEFAULT_PORTFOLIO_UUID.to_string(),
        }
    }
}

/// Portfolio id reported for the default key.
pub const DEFAULT_PORTFOLIO_UUID: &str = "5e0a6c6e-0000-4000-8000-000000000001";

/// A spot product and its trading rules. Sizes and prices are in the product's base and quote units.
#[derive(Clone, Debug)]
pub struct Product {
    pub product_id: String,
    pub base_currency: String,
    pub quote_currency: String,
    pub base_increment: Decimal,
    pub quote_increment: Decimal,
    pub price_increment: Decimal,
    pub base_min_size: Decimal,
    pub base_max_size: Decimal,
    pub quote_min_size: Decimal,
    pub quote_max_size: Decimal,
    /// Price used when the product is not the one whose candles are replayed.
    pub static_price: Decimal,
    pub trading_disabled: bool,
    pub cancel_only: bool,
    pub limit_only: bool,
    pub post_only: bool,
}

/// Everything a stand-in needs to start.
#[derive(Clone, Debug)]
pub struct StandinConfig {
    /// Accepted JWT `kid` and `sub`, e.g. `organizations/org-1/apiKeys/key-1`.
    pub key_name: String,
    /// Keys whose signatures are accepted.
    pub public_keys: Vec<VerifyingKey>,
    pub permissions: KeyPermissions,
    pub products: Vec<Product>,
    /// Starting available balance per currency.
    pub balances: Vec<(String, Decimal)>,
    /// Price series to replay, oldest first. The first candle is current at start.
    pub candles: Vec<Candle>,
    /// Product whose price follows `candles`.
    pub product_for_candles: String,
    /// Period of the replay timer, one candle per tick. `None` advances only through
    /// `POST /admin/advance`.
    pub tick: Option<Duration>,
}

impl StandinConfig {
    /// Builds a configuration with products BTC-USD and XRP-BTC, balances of 10000 USD and
    /// 1 BTC, view and trade permissions, replaying `candles` as BTC-USD without a timer.
    pub fn with_defaults(
        key_name: impl Into<String>,
        public_keys: Vec<VerifyingKey>,
        candles: Vec<Candle>,
    ) -> StandinConfig {
        StandinConfig {
            key_name: key_name.into(),
            public_keys,
            permissions: KeyPermissions::default(),
            products: default_products(),
            balances: vec![
                ("USD".to_string(), Decimal::from(10_000)),
                ("BTC".to_string(), Decimal::ONE),
            ],
            candles,
            product_for_candles: "BTC-USD".to_string(),
            tick: None,
        }
    }
}

fn decimal(text: &str) -> Decimal {
    text.parse().expect("constant decimal literal")
}

/// BTC-USD and XRP-BTC with Coinbase's increments.
pub fn default_products() -> Vec<Product> {
    vec![
        Product {
            product_id: "BTC-USD".to_string(),
            base_currency: "BTC".to_string(),
            quote_currency: "USD".to_string(),
            base_increment: decimal("0.00000001"),
            quote_increment: decimal("0.01"),
            price_increment: decimal("0.01"),
            base_min_size: decimal("0.00000001"),
            base_max_size: decimal("3400"),
            quote_min_size: decimal("1"),
            quote_max_size: decimal("150000000"),
            static_price: decimal("50000"),
            trading_disabled: false,
            cancel_only: false,
            limit_only: false,
            post_only: false,
        },
        Product {
            product_id: "XRP-BTC".to_string(),
            base_currency: "XRP".to_string(),
            quote_currency: "BTC".to_string(),
            base_increment: decimal("1"),
            quote_increment: decimal("0.00000001"),
            price_increment: decimal("0.00000001"),
            base_min_size: decimal("1"),
            base_max_size: decimal("1000000"),
            quote_min_size: decimal("0.000016"),
            quote_max_size: decimal("70"),
            static_price: decimal("0.00001000"),
            trading_disabled: false,
            cancel_only: false,
            limit_only: false,
            post_only: false,
        },
    ]
}
