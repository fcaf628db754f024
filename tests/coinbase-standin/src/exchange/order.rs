//! Orders and fills as the exchange stores them, and their JSON forms.

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderStatus {
    Open,
    Filled,
    Cancelled,
    Expired,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Open => "OPEN",
            OrderStatus::Filled => "FILLED",
            OrderStatus::Cancelled => "CANCELLED",
            OrderStatus::Expired => "EXPIRED",
        }
    }
}

/// Order type and time in force, from the order configuration key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OrderKind {
    MarketIoc,
    LimitIoc,
    LimitGtc,
    LimitGtd(DateTime<Utc>),
}

impl OrderKind {
    pub fn time_in_force(self) -> &'static str {
        match self {
            OrderKind::MarketIoc | OrderKind::LimitIoc => "IMMEDIATE_OR_CANCEL",
            OrderKind::LimitGtc => "GOOD_UNTIL_CANCELLED",
            OrderKind::LimitGtd(_) => "GOOD_UNTIL_DATE_TIME",
        }
    }

    pub fn order_type(self) -> &'static str {
        match self {
            OrderKind::MarketIoc => "MARKET",
            _ => "LIMIT",
        }
    }
}

/// An accepted order. Orders fill completely or not at all, so `filled_size` is zero or the
/// whole size.
#[derive(Clone, Debug)]
pub struct Order {
    pub order_id: String,
    pub client_order_id: String,
    pub product_id: String,
    pub side: Side,
    pub kind: OrderKind,
    /// The `order_configuration` object exactly as the client sent it.
    pub configuration: Value,
    /// Base size, or the base size a quote-sized market order converts to.
    pub base_size: Decimal,
    pub quote_size: Option<Decimal>,
    pub limit_price: Option<Decimal>,
    pub post_only: bool,
    pub status: OrderStatus,
    pub created_time: DateTime<Utc>,
    pub filled_size: Decimal,
    pub filled_value: Decimal,
    pub total_fees: Decimal,
    pub number_of_fills: u32,
    pub last_fill_time: Option<DateTime<Utc>>,
    /// Outstanding hold, in the quote currency for a buy and the base currency for a sell.
    pub hold: Decimal,
}

/// Formats a time as Coinbase does: RFC 3339 in UTC with microseconds.
pub fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn text(value: Decimal) -> String {
    value.normalize().to_string()
}

impl Order {
    pub fn average_filled_price(&self) -> Decimal {
        if self.filled_size.is_zero() {
            Decimal::ZERO
        } else {
            self.filled_value / self.filled_size
        }
    }

    pub fn is_open(&self) -> bool {
        self.status == OrderStatus::Open
    }

    /// Renders the order as `GET /orders/historical/{order_id}` returns it.
    pub fn to_json(&self) -> Value {
        let completion = if self.base_size.is_zero() {
            Decimal::ZERO
        } else {
            (self.filled_size / self.base_size * Decimal::ONE_HUNDRED).round_dp(2)
        };
        json!({
            "order_id": self.order_id,
            "product_id": self.product_id,
            "user_id": "standin-user",
            "order_configuration": self.configuration,
            "side": self.side.as_str(),
            "client_order_id": self.client_order_id,
            "status": self.status.as_str(),
            "time_in_force": self.kind.time_in_force(),
            "created_time": rfc3339(self.created_time),
            "completion_percentage": text(completion),
            "filled_size": text(self.filled_size),
            "average_filled_price": text(self.average_filled_price()),
            "fee": "",
            "number_of_fills": self.number_of_fills.to_string(),
            "filled_value": text(self.filled_value),
            "pending_cancel": false,
            "size_in_quote": self.quote_size.is_some(),
            "total_fees": text(self.total_fees),
            "size_inclusive_of_fees": self.quote_size.is_some(),
            "total_value_after_fees": text(match self.side {
                Side::Buy => self.filled_value + self.total_fees,
                Side::Sell => self.filled_value - self.total_fees,
            }),
            "trigger_status": "INVALID_ORDER_TYPE",
            "order_type": self.kind.order_type(),
            "reject_reason": "",
            "settled": !self.is_open(),
            "product_type": "SPOT",
            "reject_message": "",
            "cancel_message": if self.status == OrderStatus::Cancelled { "User requested cancel" } else { "" },
            "order_placement_source": "RETAIL_ADVANCED",
            "outstanding_hold_amount": text(self.hold),
            "is_liquidation": false,
            "last_fill_time": self.last_fill_time.map(rfc3339),
            "edit_history": [],
            "leverage": "",
            "margin_type": "UNKNOWN_MARGIN_TYPE",
            "retail_portfolio_id": crate::config::DEFAULT_PORTFOLIO_UUID,
        })
    }

    /// Renders the order as an entry of a `user` channel event: its cumulative state.
    pub fn to_user_json(&self) -> Value {
        let leaves = if self.is_open() {
            self.base_size - self.filled_size
        } else {
            Decimal::ZERO
        };
        json!({
            "order_id": self.order_id,
            "client_order_id": self.client_order_id,
            "product_id": self.product_id,
            "product_type": "SPOT",
            "order_side": self.side.as_str(),
            "order_type": self.kind.order_type(),
            "time_in_force": self.kind.time_in_force(),
            "status": self.status.as_str(),
            "creation_time": rfc3339(self.created_time),
            "cumulative_quantity": text(self.filled_size),
            "leaves_quantity": text(leaves),
            "avg_price": text(self.average_filled_price()),
            "total_fees": text(self.total_fees),
            "filled_value": text(self.filled_value),
            "number_of_fills": self.number_of_fills.to_string(),
            "limit_price": self.limit_price.map(text).unwrap_or_default(),
            "post_only": self.post_only,
            "outstanding_hold_amount": text(self.hold),
            "completion_percentage": if self.status == OrderStatus::Filled { "100" } else { "0" },
            "cancel_reason": "",
            "reject_Reason": "",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liquidity {
    Maker,
    Taker,
}

/// One execution of an order.
#[derive(Clone, Debug)]
pub struct Fill {
    pub entry_id: String,
    pub trade_id: String,
    pub order_id: String,
    pub product_id: String,
    pub side: Side,
    pub trade_time: DateTime<Utc>,
    pub price: Decimal,
    pub size: Decimal,
    pub commission: Decimal,
    pub liquidity: Liquidity,
}

impl Fill {
    pub fn to_json(&self) -> Value {
        json!({
            "entry_id": self.entry_id,
            "trade_id": self.trade_id,
            "order_id": self.order_id,
            "trade_time": rfc3339(self.trade_time),
            "trade_type": "FILL",
            "price": text(self.price),
            "size": text(self.size),
            "commission": text(self.commission),
            "product_id": self.product_id,
            "sequence_timestamp": rfc3339(self.trade_time),
            "liquidity_indicator": match self.liquidity {
                Liquidity::Maker => "MAKER",
                Liquidity::Taker => "TAKER",
            },
            "size_in_quote": false,
            "user_id": "standin-user",
            "side": self.side.as_str(),
            "retail_portfolio_id": crate::config::DEFAULT_PORTFOLIO_UUID,
        })
    }
}
