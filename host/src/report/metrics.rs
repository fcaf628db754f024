//! Performance metrics of a backtest, computed from the equity curve at each
//! candle's close and from the round-trip trades.
//!
//! Returns are fractions (0.05 is 5%). A year is 365 days, because crypto
//! markets trade every day. The Sharpe ratio uses per-candle simple returns,
//! their sample standard deviation and a risk-free rate of zero, and is
//! annualised by the square root of the candles in a year.

use crate::backtest::{BacktestResult, Trade};
use crate::data::CandleSeries;

pub const MS_PER_YEAR: f64 = 365.0 * 24.0 * 3600.0 * 1000.0;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Metrics {
    pub start_equity: f64,
    pub end_equity: f64,
    pub total_return: f64,
    /// Compound annual growth rate over the data's time span.
    pub cagr: Option<f64>,
    /// Largest fall from a running peak of equity, as a positive fraction.
    pub max_drawdown: f64,
    /// None when equity never changed.
    pub sharpe: Option<f64>,
    /// Candles per year the Sharpe ratio is annualised with.
    pub sharpe_periods_per_year: f64,
    /// Round-trip trades, the one still open at the end included.
    pub trades: usize,
    pub closed_trades: usize,
    /// Share of closed trades with a positive net PnL.
    pub win_rate: Option<f64>,
    /// Net profit of winning closed trades over net loss of losing ones;
    /// None when no closed trade lost.
    pub profit_factor: Option<f64>,
    pub fees_paid: f64,
    /// Share of candles that closed with a position held.
    pub exposure: f64,
    /// Return of buying at the first open and holding to the last close,
    /// without fees.
    pub buy_and_hold_return: f64,
    pub candles: usize,
    pub data_gaps: usize,
    pub missing_candles: u64,
}

/// Computes every metric of a run.
pub fn compute(result: &BacktestResult, series: &CandleSeries, initial_cash: f64) -> Metrics {
    let equity: Vec<f64> = result.equity.iter().map(|point| point.equity).collect();
    let end_equity = equity.last().copied().unwrap_or(initial_cash);
    let periods = periods_per_year(series.interval_ms);
    let first = series.candles.first();
    let last = series.candles.last();
    let span_ms = match (first, last) {
        (Some(first), Some(last)) => last.start_ms + series.interval_ms - first.start_ms,
        _ => 0,
    };
    let closed: Vec<&Trade> = result.trades.iter().filter(|trade| !trade.open).collect();
    let held = result.equity.iter().filter(|point| point.position > 0.0).count();

    Metrics {
        start_equity: initial_cash,
        end_equity,
        total_return: total_return(initial_cash, end_equity),
        cagr: cagr(initial_cash, end_equity, span_ms),
        max_drawdown: max_drawdown(initial_cash, &equity),
        sharpe: sharpe(&period_returns(initial_cash, &equity), periods),
        sharpe_periods_per_year: periods,
        trades: result.trades.len(),
        closed_trades: closed.len(),
        win_rate: win_rate(&closed),
        profit_factor: profit_factor(&closed),
        fees_paid: result.equity.last().map_or(0.0, |point| point.fees_paid),
        exposure: if equity.is_empty() { 0.0 } else { held as f64 / equity.len() as f64 },
        buy_and_hold_return: match (first, last) {
            (Some(first), Some(last)) => last.close / first.open - 1.0,
            _ => 0.0,
        },
        candles: series.candles.len(),
        data_gaps: series.gaps,
        missing_candles: series.missing_candles,
    }
}

pub fn total_return(start: f64, end: f64) -> f64 {
    end / start - 1.0
}

/// Candles in a 365-day year at this interval.
pub fn periods_per_year(interval_ms: i64) -> f64 {
    MS_PER_YEAR / interval_ms as f64
}

/// Compound annual growth rate; None for an empty span or a total loss.
pub fn cagr(start: f64, end: f64, span_ms: i64) -> Option<f64> {
    if span_ms <= 0 || start <= 0.0 || end <= 0.0 {
        return None;
    }
    let years = span_ms as f64 / MS_PER_YEAR;
    Some((end / start).powf(1.0 / years) - 1.0)
}

/// Largest peak-to-trough fall, as a fraction of the peak; the starting
/// equity counts as the first peak.
pub fn max_drawdown(start: f64, equity: &[f64]) -> f64 {
    let mut peak = start;
    let mut worst = 0.0_f64;
    for &value in equity {
        peak = peak.max(value);
        if peak > 0.0 {
            worst = worst.max((peak - value) / peak);
        }
    }
    worst
}

/// Simple return of each period, the first measured from `start`.
pub fn period_returns(start: f64, equity: &[f64]) -> Vec<f64> {
    let mut previous = start;
    equity
        .iter()
        .map(|&value| {
            let change = value / previous - 1.0;
            previous = value;
            change
        })
        .collect()
}

/// Annualised Sharpe ratio with a zero risk-free rate: mean over sample
/// standard deviation of the period returns, times sqrt(periods per year).
/// None with fewer than two returns or no variation.
pub fn sharpe(returns: &[f64], periods_per_year: f64) -> Option<f64> {
    if returns.len() < 2 {
        return None;
    }
    let count = returns.len() as f64;
    let mean = returns.iter().sum::<f64>() / count;
    let variance = returns.iter().map(|value| (value - mean).powi(2)).sum::<f64>() / (count - 1.0);
    let deviation = variance.sqrt();
    if deviation == 0.0 || !deviation.is_finite() {
        return None;
    }
    Some(mean / deviation * periods_per_year.sqrt())
}

fn win_rate(closed: &[&Trade]) -> Option<f64> {
    if closed.is_empty() {
        return None;
    }
    let wins = closed.iter().filter(|trade| trade.net_pnl > 0.0).count();
    Some(wins as f64 / closed.len() as f64)
}

fn profit_factor(closed: &[&Trade]) -> Option<f64> {
    // Folds from +0.0: an empty f64 sum is -0.0, which would print as -0.000.
    let profit = closed.iter().map(|trade| trade.net_pnl).filter(|pnl| *pnl > 0.0).fold(0.0, |sum, pnl| sum + pnl);
    let loss = closed.iter().map(|trade| trade.net_pnl).filter(|pnl| *pnl < 0.0).fold(0.0, |sum, pnl| sum + pnl);
    if loss == 0.0 {
        return None;
    }
    Some(profit / -loss)
}
