//! The summary printed to the terminal after a backtest.

use std::fmt::Write as _;

use super::files::{Report, SHARPE_BASIS};

fn percent(value: f64) -> String {
    format!("{:.2}%", value * 100.0)
}

fn optional(value: Option<f64>, format: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| "n/a".to_string(), format)
}

/// Renders the report's headline figures as aligned lines.
pub fn render(report: &Report) -> String {
    let metrics = &report.metrics;
    let data = &report.data;
    let mut out = String::new();
    let mut line = |label: &str, value: String| {
        let _ = writeln!(out, "  {label:<22}{value}");
    };

    line("strategy", format!("{} (sha256 {})", report.strategy.id, report.strategy.sha256));
    line("data", format!("{} ({} candles, {} to {})", data.file, data.candles, data.first_candle, data.last_candle));
    line("product", report.config.product.clone());
    line("start equity", format!("{:.2}", metrics.start_equity));
    line("end equity", format!("{:.2}", metrics.end_equity));
    line("total return", percent(metrics.total_return));
    line("CAGR", optional(metrics.cagr, percent));
    line("max drawdown", percent(metrics.max_drawdown));
    line("Sharpe ratio", optional(metrics.sharpe, |value| format!("{value:.3}")));
    line("trades", format!("{} ({} closed)", metrics.trades, metrics.closed_trades));
    line("win rate", optional(metrics.win_rate, percent));
    line("profit factor", optional(metrics.profit_factor, |value| format!("{value:.3}")));
    line("fees paid", format!("{:.2}", metrics.fees_paid));
    line("exposure", percent(metrics.exposure));
    line("buy and hold", percent(metrics.buy_and_hold_return));
    line("data gaps", format!("{} ({} candles missing)", metrics.data_gaps, metrics.missing_candles));
    line(
        "orders",
        format!(
            "{} accepted, {} filled, {} rejected, {} open at end",
            report.orders.accepted, report.orders.filled, report.orders.rejected, report.orders.open_at_end
        ),
    );
    if !report.faults.is_empty() {
        line("faults", format!("{} survived with --on-fault skip", report.faults.len()));
    }
    if let Some(time) = &report.quarantined_at {
        line("quarantined", format!("at {time}; no events after that"));
    }
    if let Some(fuel) = report.fuel
        && fuel.calls > 0
    {
        line("fuel per event", format!("{} mean, {} max", fuel.total / fuel.calls, fuel.max));
    }
    let _ = writeln!(
        out,
        "\n  Sharpe basis: {SHARPE_BASIS}, {:.0} candles per year.",
        metrics.sharpe_periods_per_year
    );
    out
}
