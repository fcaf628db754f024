//! Metrics against hand-computed equity curves and trades.

use stratbox::backtest::{BacktestResult, EquityPoint, Trade};
use stratbox::data::parse_candles;
use stratbox::report::metrics::{
    cagr, compute, max_drawdown, period_returns, periods_per_year, sharpe, total_return,
};

fn close_to(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() < 1e-9 * expected.abs().max(1.0)
}

#[test]
fn total_return_is_end_over_start() {
    assert!(close_to(total_return(100.0, 121.0), 0.21));
    assert!(close_to(total_return(100.0, 80.0), -0.2));
}

#[test]
fn max_drawdown_from_running_peak() {
    // Peaks 110 then 121; the falls are 110 -> 99 (10%) and 121 -> 90 (31/121).
    assert!(close_to(max_drawdown(100.0, &[110.0, 99.0, 121.0, 90.0]), 31.0 / 121.0));
}

#[test]
fn max_drawdown_counts_start_as_peak() {
    assert!(close_to(max_drawdown(100.0, &[80.0, 90.0]), 0.2));
}

#[test]
fn max_drawdown_zero_when_equity_only_rises() {
    assert_eq!(max_drawdown(100.0, &[101.0, 102.0]), 0.0);
}

#[test]
fn period_returns_start_from_initial_equity() {
    let returns = period_returns(100.0, &[110.0, 99.0, 118.8]);
    assert!(close_to(returns[0], 0.1));
    assert!(close_to(returns[1], -0.1));
    assert!(close_to(returns[2], 0.2));
}

#[test]
fn periods_per_year_from_interval() {
    assert_eq!(periods_per_year(3_600_000), 8760.0);
    assert_eq!(periods_per_year(60_000), 525_600.0);
    assert_eq!(periods_per_year(86_400_000), 365.0);
}

#[test]
fn sharpe_annualises_by_root_of_periods() {
    // Returns 0.1, -0.1, 0.2: mean 0.2/3; deviations 1/30, -1/6, 2/15 give a
    // sample variance of (0.14/3)/2 = 0.07/3.
    let expected = (0.2 / 3.0) / (0.07_f64 / 3.0).sqrt() * 8760.0_f64.sqrt();
    let actual = sharpe(&[0.1, -0.1, 0.2], 8760.0).unwrap();
    assert!(close_to(actual, expected), "{actual} against {expected}");
    // 0.0666667 / 0.1527525 = 0.4364358, times sqrt(8760) = 93.59487.
    assert!((actual - 40.84815).abs() < 1e-5, "{actual}");
}

#[test]
fn sharpe_daily_uses_root_365() {
    let per_period = sharpe(&[0.01, 0.03], 1.0).unwrap();
    let daily = sharpe(&[0.01, 0.03], 365.0).unwrap();
    assert!(close_to(daily, per_period * 365.0_f64.sqrt()));
}

#[test]
fn sharpe_undefined_without_variation() {
    assert_eq!(sharpe(&[0.01, 0.01, 0.01], 8760.0), None);
    assert_eq!(sharpe(&[0.01], 8760.0), None);
}

#[test]
fn cagr_of_doubling_over_two_years() {
    let two_years_ms = 2 * 365 * 24 * 3600 * 1000;
    assert!(close_to(cagr(100.0, 200.0, two_years_ms).unwrap(), 2.0_f64.sqrt() - 1.0));
}

#[test]
fn cagr_undefined_for_empty_span() {
    assert_eq!(cagr(100.0, 200.0, 0), None);
}

fn point(time_ms: i64, equity: f64, position: f64, fees_paid: f64) -> EquityPoint {
    EquityPoint {
        time_ms,
        close: 0.0,
        cash: 0.0,
        position,
        average_entry_price: 0.0,
        realised_pnl: 0.0,
        unrealised_pnl: 0.0,
        fees_paid,
        equity,
    }
}

fn trade(net_pnl: f64, open: bool) -> Trade {
    Trade {
        product: "BTC-USD".to_string(),
        entry_time_ms: 0,
        exit_time_ms: if open { None } else { Some(1) },
        size: 1.0,
        entry_price: 1.0,
        exit_price: 1.0,
        gross_pnl: net_pnl,
        fees: 0.0,
        net_pnl,
        open,
    }
}

/// Builds a result with only an equity curve and trades, the inputs the
/// metrics read.
fn result_of(equity: Vec<EquityPoint>, trades: Vec<Trade>) -> BacktestResult {
    BacktestResult {
        equity,
        fills: Vec::new(),
        trades,
        rejections: Vec::new(),
        orders_accepted: 0,
        open_orders_at_end: 0,
        faults: Vec::new(),
        quarantined_at_ms: None,
        fuel: None,
    }
}

#[test]
fn compute_trade_and_exposure_metrics() {
    let csv = "timestamp,open,high,low,close,volume\n\
               0,100,100,100,100,1\n3600,100,100,100,100,1\n7200,100,100,100,100,1\n10800,100,130,100,125,1\n";
    let series = parse_candles(csv.as_bytes()).unwrap();
    let result = result_of(
        vec![
            point(3_600_000, 1000.0, 0.0, 0.0),
            point(7_200_000, 1030.0, 1.0, 2.0),
            point(10_800_000, 1010.0, 0.0, 3.0),
            point(14_400_000, 1020.0, 1.0, 4.0),
        ],
        vec![trade(30.0, false), trade(-10.0, false), trade(-5.0, false), trade(8.0, true)],
    );

    let metrics = compute(&result, &series, 1000.0);
    assert_eq!(metrics.trades, 4);
    assert_eq!(metrics.closed_trades, 3);
    assert!(close_to(metrics.win_rate.unwrap(), 1.0 / 3.0));
    assert!(close_to(metrics.profit_factor.unwrap(), 30.0 / 15.0));
    assert!(close_to(metrics.exposure, 0.5));
    assert!(close_to(metrics.fees_paid, 4.0));
    assert!(close_to(metrics.total_return, 0.02));
    assert!(close_to(metrics.max_drawdown, 20.0 / 1030.0));
    assert!(close_to(metrics.buy_and_hold_return, 0.25));
    assert_eq!(metrics.sharpe_periods_per_year, 8760.0);
}

#[test]
fn profit_factor_undefined_without_losses() {
    let series = parse_candles(b"timestamp,open,high,low,close,volume\n0,1,1,1,1,1\n3600,1,1,1,1,1\n").unwrap();
    let result = result_of(
        vec![point(3_600_000, 1000.0, 0.0, 0.0), point(7_200_000, 1010.0, 0.0, 0.0)],
        vec![trade(10.0, false)],
    );
    let metrics = compute(&result, &series, 1000.0);
    assert_eq!(metrics.profit_factor, None);
    assert_eq!(metrics.win_rate, Some(1.0));
}
