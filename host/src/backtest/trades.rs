//! Round-trip trades built from fills: a trade opens when a flat position
//! is bought into and closes when the position is back to zero.

use crate::strategy::Side;

use super::venue::FillRecord;

/// One round trip in one product. Its `gross_pnl` minus `fees` is what it
/// added to equity, so the trades of a run add up to the change in equity.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Trade {
    pub product: String,
    pub entry_time_ms: i64,
    /// None while the trade is open.
    pub exit_time_ms: Option<i64>,
    /// Base units bought over the trade.
    pub size: f64,
    /// Volume-weighted buy price.
    pub entry_price: f64,
    /// Volume-weighted sell price; for an open trade, includes the units
    /// still held valued at the mark price.
    pub exit_price: f64,
    /// Sales minus purchases, fees excluded.
    pub gross_pnl: f64,
    pub fees: f64,
    pub net_pnl: f64,
    pub open: bool,
}

#[derive(Debug, Clone, Default)]
struct Running {
    product: String,
    entry_time_ms: i64,
    position: f64,
    bought: f64,
    buy_cost: f64,
    sold: f64,
    sale_proceeds: f64,
    fees: f64,
}

/// Collects fills into trades.
#[derive(Debug, Default)]
pub struct TradeLedger {
    closed: Vec<Trade>,
    running: Vec<Running>,
}

impl TradeLedger {
    pub fn record(&mut self, fill: &FillRecord) {
        let index = match self.running.iter().position(|running| running.product == fill.product) {
            Some(index) => index,
            None => {
                self.running.push(Running {
                    product: fill.product.clone(),
                    entry_time_ms: fill.time_ms,
                    ..Running::default()
                });
                self.running.len() - 1
            }
        };

        let running = &mut self.running[index];
        running.fees += fill.fee;
        match fill.side {
            Side::Buy => {
                running.position += fill.size;
                running.bought += fill.size;
                running.buy_cost += fill.size * fill.price;
            }
            Side::Sell => {
                running.position -= fill.size;
                running.sold += fill.size;
                running.sale_proceeds += fill.size * fill.price;
            }
        }

        if running.position <= 0.0 {
            let running = self.running.remove(index);
            self.closed.push(finish(running, Some(fill.time_ms), 0.0));
        }
    }

    /// Closed trades, then open ones valued at `mark`.
    pub fn trades(&self, mark: impl Fn(&str) -> f64) -> Vec<Trade> {
        let mut trades = self.closed.clone();
        for running in &self.running {
            trades.push(finish(running.clone(), None, mark(&running.product)));
        }
        trades
    }
}

fn finish(running: Running, exit_time_ms: Option<i64>, mark: f64) -> Trade {
    let held_value = running.position.max(0.0) * mark;
    let exit_units = running.sold + running.position.max(0.0);
    let gross_pnl = running.sale_proceeds + held_value - running.buy_cost;
    Trade {
        product: running.product,
        entry_time_ms: running.entry_time_ms,
        exit_time_ms,
        size: running.bought,
        entry_price: if running.bought > 0.0 { running.buy_cost / running.bought } else { 0.0 },
        exit_price: if exit_units > 0.0 { (running.sale_proceeds + held_value) / exit_units } else { 0.0 },
        gross_pnl,
        fees: running.fees,
        net_pnl: gross_pnl - running.fees,
        open: exit_time_ms.is_none(),
    }
}
