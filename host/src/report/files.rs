//! The files written with `--out DIR`: `report.json`, `trades.csv`,
//! `fills.csv` and `equity.csv`. Nothing in them depends on the time or the
//! machine of the run, so the same backtest writes the same bytes.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;

use crate::backtest::{BacktestConfig, BacktestResult, FaultRecord, format_time};
use crate::data::{CandleSeries, Layout};
use crate::sandbox::{FuelStats, Limits};

use super::metrics::{Metrics, compute};

pub const SHARPE_BASIS: &str = "mean over sample standard deviation of per-candle simple returns of \
     equity, risk-free rate 0, times the square root of the candles in a 365-day year";

#[derive(Debug, Clone, serde::Serialize)]
pub struct StrategyInfo {
    pub id: String,
    pub sha256: String,
    pub params: Vec<(String, String)>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct DataInfo {
    pub file: String,
    pub sha256: String,
    pub layout: Layout,
    pub candles: usize,
    pub first_candle: String,
    pub last_candle: String,
    pub interval_seconds: i64,
    pub gaps: usize,
    pub missing_candles: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct OrderCounts {
    pub accepted: u64,
    pub filled: usize,
    pub rejected: usize,
    pub open_at_end: usize,
}

/// Everything `report.json` holds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub stratbox_version: &'static str,
    pub strategy: StrategyInfo,
    pub data: DataInfo,
    pub config: BacktestConfig,
    pub limits: Option<Limits>,
    pub sharpe_basis: &'static str,
    pub metrics: Metrics,
    pub orders: OrderCounts,
    /// Fuel used by the strategy's event calls; absent for native runs.
    pub fuel: Option<FuelStats>,
    /// Faults survived with `--on-fault skip`.
    pub faults: Vec<FaultRecord>,
    /// When the strategy was quarantined, if it was.
    pub quarantined_at: Option<String>,
}

impl Report {
    pub fn new(
        strategy: StrategyInfo,
        data_file: &str,
        series: &CandleSeries,
        config: &BacktestConfig,
        result: &BacktestResult,
        limits: Option<Limits>,
    ) -> Report {
        let time_of = |index: Option<&crate::data::Candle>| index.map_or_else(String::new, |c| format_time(c.start_ms));
        Report {
            stratbox_version: env!("CARGO_PKG_VERSION"),
            strategy,
            data: DataInfo {
                file: data_file.to_string(),
                sha256: series.sha256.clone(),
                layout: series.layout,
                candles: series.candles.len(),
                first_candle: time_of(series.candles.first()),
                last_candle: time_of(series.candles.last()),
                interval_seconds: series.interval_ms / 1000,
                gaps: series.gaps,
                missing_candles: series.missing_candles,
            },
            config: config.clone(),
            limits,
            sharpe_basis: SHARPE_BASIS,
            metrics: compute(result, series, config.initial_cash),
            orders: OrderCounts {
                accepted: result.orders_accepted,
                filled: result.fills.len(),
                rejected: result.rejections.len(),
                open_at_end: result.open_orders_at_end,
            },
            fuel: result.fuel,
            faults: result.faults.clone(),
            quarantined_at: result.quarantined_at_ms.map(format_time),
        }
    }
}

/// Writes `report.json`, `trades.csv`, `fills.csv` and `equity.csv` into
/// `dir`, creating it if needed.
///
/// # Errors
/// When the directory or a file cannot be written.
pub fn write_report(dir: &Path, report: &Report, result: &BacktestResult) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("failed to create output directory {}", dir.display()))?;

    let mut json = serde_json::to_string_pretty(report).context("failed to encode report.json")?;
    json.push('\n');
    write(dir, "report.json", &json)?;
    write(dir, "trades.csv", &trades_csv(result))?;
    write(dir, "fills.csv", &fills_csv(result))?;
    write(dir, "equity.csv", &equity_csv(result))?;
    Ok(())
}

fn write(dir: &Path, name: &str, contents: &str) -> anyhow::Result<()> {
    let path = dir.join(name);
    std::fs::write(&path, contents).with_context(|| format!("failed to write {}", path.display()))
}

pub fn trades_csv(result: &BacktestResult) -> String {
    let mut out = String::from(
        "product,entry_time,exit_time,size,entry_price,exit_price,gross_pnl,fees,net_pnl,open\n",
    );
    for trade in &result.trades {
        let exit_time = trade.exit_time_ms.map(format_time).unwrap_or_default();
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{}",
            trade.product,
            format_time(trade.entry_time_ms),
            exit_time,
            trade.size,
            trade.entry_price,
            trade.exit_price,
            trade.gross_pnl,
            trade.fees,
            trade.net_pnl,
            trade.open
        );
    }
    out
}

pub fn fills_csv(result: &BacktestResult) -> String {
    let mut out = String::from("time,tag,product,side,size,price,fee,liquidity,realised_pnl\n");
    for fill in &result.fills {
        let liquidity = match fill.liquidity {
            crate::strategy::Liquidity::Maker => "maker",
            crate::strategy::Liquidity::Taker => "taker",
        };
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{}",
            format_time(fill.time_ms),
            csv_field(&fill.tag),
            fill.product,
            fill.side.as_str(),
            fill.size,
            fill.price,
            fill.fee,
            liquidity,
            fill.realised_pnl
        );
    }
    out
}

pub fn equity_csv(result: &BacktestResult) -> String {
    let mut out = String::from(
        "time,close,cash,position,average_entry_price,realised_pnl,unrealised_pnl,fees_paid,equity\n",
    );
    for point in &result.equity {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{}",
            format_time(point.time_ms),
            point.close,
            point.cash,
            point.position,
            point.average_entry_price,
            point.realised_pnl,
            point.unrealised_pnl,
            point.fees_paid,
            point.equity
        );
    }
    out
}

/// Quotes a strategy-chosen string for CSV when it needs it.
fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}
