//! Individual fills from the user channel's cumulative order state.
//!
//! The user channel reports, for each order, the quantity filled so far, the
//! average price and the fees so far. A fill is the change since the last
//! report of the same order. A report that does not move the cumulative
//! quantity forward, such as a duplicate or a replay after a resubscribe,
//! yields nothing.

use std::collections::HashMap;

use rust_decimal::Decimal;

/// One order's cumulative state as the user channel reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct CumulativeOrder {
    pub order_id: String,
    pub client_order_id: String,
    pub product_id: String,
    pub side: String,
    pub status: String,
    pub cumulative_quantity: Decimal,
    pub average_price: Decimal,
    pub total_fees: Decimal,
}

/// A fill derived from two consecutive reports.
#[derive(Debug, Clone, PartialEq)]
pub struct DerivedFill {
    pub order_id: String,
    pub client_order_id: String,
    pub product_id: String,
    pub side: String,
    pub size: Decimal,
    pub price: Decimal,
    pub fee: Decimal,
}

#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    quantity: Decimal,
    /// Quantity times average price: the quote value filled so far.
    value: Decimal,
    fees: Decimal,
}

/// Remembers each order's last cumulative state.
#[derive(Debug, Default)]
pub struct FillTracker {
    seen: HashMap<String, Seen>,
}

impl FillTracker {
    pub fn new() -> FillTracker {
        FillTracker::default()
    }

    /// Returns the fill since the last report of this order, if any.
    pub fn update(&mut self, report: &CumulativeOrder) -> Option<DerivedFill> {
        let previous = self.seen.get(&report.order_id).copied().unwrap_or_default();
        if report.cumulative_quantity <= previous.quantity {
            return None;
        }

        let value = report.cumulative_quantity * report.average_price;
        let size = report.cumulative_quantity - previous.quantity;
        let price = ((value - previous.value) / size).normalize();
        let fee = (report.total_fees - previous.fees).max(Decimal::ZERO);
        self.seen.insert(
            report.order_id.clone(),
            Seen { quantity: report.cumulative_quantity, value, fees: report.total_fees },
        );

        Some(DerivedFill {
            order_id: report.order_id.clone(),
            client_order_id: report.client_order_id.clone(),
            product_id: report.product_id.clone(),
            side: report.side.clone(),
            size,
            price,
            fee,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn report(quantity: &str, average: &str, fees: &str) -> CumulativeOrder {
        CumulativeOrder {
            order_id: "order-1".into(),
            client_order_id: "client-1".into(),
            product_id: "BTC-USD".into(),
            side: "BUY".into(),
            status: "OPEN".into(),
            cumulative_quantity: Decimal::from_str(quantity).unwrap(),
            average_price: Decimal::from_str(average).unwrap(),
            total_fees: Decimal::from_str(fees).unwrap(),
        }
    }

    fn decimal(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn first_report_is_one_fill() {
        let mut tracker = FillTracker::new();
        let fill = tracker.update(&report("0.5", "100", "0.3")).unwrap();
        assert_eq!(fill.size, decimal("0.5"));
        assert_eq!(fill.price, decimal("100"));
        assert_eq!(fill.fee, decimal("0.3"));
    }

    #[test]
    fn second_report_yields_difference_at_its_own_price() {
        let mut tracker = FillTracker::new();
        tracker.update(&report("0.5", "100", "0.3"));
        // 0.5 at 100 then 1.5 at 104 averages (50 + 156) / 2 = 103.
        let fill = tracker.update(&report("2", "103", "1.236")).unwrap();
        assert_eq!(fill.size, decimal("1.5"));
        assert_eq!(fill.price, decimal("104"));
        assert_eq!(fill.fee, decimal("0.936"));
    }

    #[test]
    fn duplicate_report_yields_nothing() {
        let mut tracker = FillTracker::new();
        tracker.update(&report("0.5", "100", "0.3"));
        assert_eq!(tracker.update(&report("0.5", "100", "0.3")), None);
    }

    #[test]
    fn stale_report_after_newer_yields_nothing() {
        let mut tracker = FillTracker::new();
        tracker.update(&report("2", "103", "1.2"));
        assert_eq!(tracker.update(&report("0.5", "100", "0.3")), None);
    }

    #[test]
    fn report_without_fill_yields_nothing() {
        let mut tracker = FillTracker::new();
        assert_eq!(tracker.update(&report("0", "0", "0")), None);
    }
}
