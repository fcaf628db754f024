//! Backtest accounting on tiny hand-computed series, driven by a scripted
//! native strategy so that each case states exactly what was ordered.

use std::collections::BTreeMap;

use stratbox::backtest::{self, BacktestConfig, BacktestResult, Costs};
use stratbox::data::{CandleSeries, parse_candles};
use stratbox::strategy::{
    Action, Event, LimitOrder, Liquidity, OrderIntent, OrderKind, OrderStatus, Portfolio, Side,
    Size, Strategy, StrategyError, TimeInForce,
};

const PRODUCT: &str = "BTC-USD";

/// Places the listed actions when the candle with that index (0-based)
/// closes, and keeps every event and snapshot it receives.
#[derive(Default)]
struct Script {
    actions: BTreeMap<usize, Vec<Action>>,
    candles_seen: usize,
    events: Vec<Event>,
    snapshots: Vec<Portfolio>,
}

impl Script {
    fn on(mut self, candle: usize, action: Action) -> Script {
        self.actions.entry(candle).or_default().push(action);
        self
    }

    fn updates(&self) -> Vec<(String, OrderStatus, Option<String>)> {
        self.events
            .iter()
            .filter_map(|event| match event {
                Event::OrderUpdate(update) => Some((update.tag.clone(), update.status, update.reason.clone())),
                _ => None,
            })
            .collect()
    }

    fn final_status(&self, tag: &str) -> (OrderStatus, Option<String>) {
        let (_, status, reason) = self.updates().into_iter().rev().find(|(t, _, _)| t == tag).expect("an update for the tag");
        (status, reason)
    }
}

impl Strategy for Script {
    fn id(&self) -> &str {
        "script"
    }

    fn init(&mut self, _params: &[(String, String)]) -> Result<(), StrategyError> {
        Ok(())
    }

    fn on_event(&mut self, event: &Event, portfolio: &Portfolio) -> Result<Vec<Action>, StrategyError> {
        self.events.push(event.clone());
        self.snapshots.push(portfolio.clone());
        if let Event::Candle(_) = event {
            let index = self.candles_seen;
            self.candles_seen += 1;
            return Ok(self.actions.remove(&index).unwrap_or_default());
        }
        Ok(Vec::new())
    }
}

fn market(tag: &str, side: Side, size: Size) -> Action {
    Action::Place(OrderIntent {
        tag: tag.to_string(),
        product: PRODUCT.to_string(),
        side,
        size,
        kind: OrderKind::Market,
    })
}

fn limit(tag: &str, side: Side, base: f64, price: f64, time_in_force: TimeInForce, post_only: bool) -> Action {
    Action::Place(OrderIntent {
        tag: tag.to_string(),
        product: PRODUCT.to_string(),
        side,
        size: Size::Base(base),
        kind: OrderKind::Limit(LimitOrder { price, time_in_force, post_only }),
    })
}

/// Hourly candles from (open, high, low, close) rows, volume 1.
fn series(rows: &[(f64, f64, f64, f64)]) -> CandleSeries {
    let mut csv = String::from("timestamp,open,high,low,close,volume\n");
    for (index, (open, high, low, close)) in rows.iter().enumerate() {
        csv.push_str(&format!("{},{open},{high},{low},{close},1\n", 1_704_067_200 + index as i64 * 3600));
    }
    parse_candles(csv.as_bytes()).unwrap()
}

fn config(costs: Costs) -> BacktestConfig {
    BacktestConfig { product: PRODUCT.to_string(), initial_cash: 10_000.0, costs, ..BacktestConfig::default() }
}

fn fees(maker_fee_bps: f64, taker_fee_bps: f64) -> Costs {
    Costs { maker_fee_bps, taker_fee_bps, slippage_bps: 0.0 }
}

fn run(script: &mut Script, rows: &[(f64, f64, f64, f64)], costs: Costs) -> BacktestResult {
    backtest::run(script, &series(rows), &config(costs)).unwrap()
}

const FOUR_CANDLES: [(f64, f64, f64, f64); 4] = [
    (100.0, 110.0, 90.0, 105.0),
    (106.0, 112.0, 101.0, 108.0),
    (108.0, 109.0, 94.0, 96.0),
    (97.0, 120.0, 96.0, 118.0),
];

#[test]
fn market_buy_fills_at_next_open() {
    let mut script = Script::default().on(0, market("buy", Side::Buy, Size::Base(2.0)));
    let result = run(&mut script, &FOUR_CANDLES, fees(0.0, 0.0));

    assert_eq!(result.fills.len(), 1);
    assert_eq!(result.fills[0].price, 106.0);
    assert_eq!(result.fills[0].time_ms, 1_704_070_800_000);
    assert_eq!(result.equity[1].cash, 10_000.0 - 212.0);
    assert_eq!(result.equity[1].position, 2.0);
}

#[test]
fn market_buy_pays_slippage_in_basis_points() {
    let mut script = Script::default().on(0, market("buy", Side::Buy, Size::Base(1.0)));
    let costs = Costs { maker_fee_bps: 0.0, taker_fee_bps: 0.0, slippage_bps: 50.0 };
    let result = run(&mut script, &FOUR_CANDLES, costs);
    assert_eq!(result.fills[0].price, 106.0 * 1.005);
}

#[test]
fn taker_fee_charged_on_each_fill() {
    let mut script = Script::default()
        .on(0, market("buy", Side::Buy, Size::Base(1.0)))
        .on(1, market("sell", Side::Sell, Size::Base(1.0)));
    let result = run(&mut script, &FOUR_CANDLES, fees(40.0, 60.0));

    // Buy at 106, sell at 108, 0.6% taker fee on each notional.
    assert_eq!(result.fills.len(), 2);
    assert!((result.fills[0].fee - 0.636).abs() < 1e-12, "{}", result.fills[0].fee);
    assert!((result.fills[1].fee - 0.648).abs() < 1e-12, "{}", result.fills[1].fee);
    assert!((result.equity[2].fees_paid - 1.284).abs() < 1e-12);
    assert!((result.equity[2].cash - (10_000.0 - 106.0 - 0.636 + 108.0 - 0.648)).abs() < 1e-9);
    assert_eq!(result.equity[2].realised_pnl, 2.0);
}

#[test]
fn quote_buy_spends_quote_including_fee() {
    let mut script = Script::default().on(0, market("buy", Side::Buy, Size::Quote(1006.0)));
    let result = run(&mut script, &FOUR_CANDLES, fees(0.0, 60.0));

    let fill = &result.fills[0];
    // notional = 1006 / 1.006 = 1000; size = 1000 / 106; fee = 6.
    assert!((fill.size - 1000.0 / 106.0).abs() < 1e-12);
    assert!((fill.fee - 6.0).abs() < 1e-9);
    assert!((result.equity[1].cash - (10_000.0 - 1006.0)).abs() < 1e-9);
}

#[test]
fn limit_buy_fills_only_when_range_reaches_price() {
    // Placed at candle 0's close; candle 1's low of 101 stays above 95;
    // candle 2's low of 94 reaches it.
    let mut script = Script::default().on(0, limit("dip", Side::Buy, 1.0, 95.0, TimeInForce::GoodTilCancelled, false));
    let result = run(&mut script, &FOUR_CANDLES, fees(40.0, 60.0));

    assert_eq!(result.fills.len(), 1);
    let fill = &result.fills[0];
    assert_eq!(fill.price, 95.0);
    assert_eq!(fill.liquidity, Liquidity::Maker);
    assert_eq!(fill.time_ms, 1_704_067_200_000 + 2 * 3_600_000);
    assert!((fill.fee - 0.38).abs() < 1e-12);
    assert_eq!(result.equity[1].position, 0.0);
    assert_eq!(result.equity[2].position, 1.0);
}

#[test]
fn limit_sell_fills_at_its_price() {
    let mut script = Script::default()
        .on(0, market("buy", Side::Buy, Size::Base(1.0)))
        .on(1, limit("target", Side::Sell, 1.0, 115.0, TimeInForce::GoodTilCancelled, false));
    let result = run(&mut script, &FOUR_CANDLES, fees(0.0, 0.0));

    assert_eq!(result.fills.len(), 2);
    assert_eq!(result.fills[1].price, 115.0);
    assert_eq!(result.fills[1].time_ms, 1_704_067_200_000 + 3 * 3_600_000);
}

#[test]
fn limit_never_reached_stays_open() {
    let mut script = Script::default().on(0, limit("low", Side::Buy, 1.0, 50.0, TimeInForce::GoodTilCancelled, false));
    let result = run(&mut script, &FOUR_CANDLES, fees(0.0, 0.0));
    assert!(result.fills.is_empty());
    assert_eq!(result.open_orders_at_end, 1);
}

#[test]
fn marketable_limit_fills_at_open_as_taker() {
    let mut script = Script::default().on(0, limit("cross", Side::Buy, 1.0, 107.0, TimeInForce::GoodTilCancelled, false));
    let result = run(&mut script, &FOUR_CANDLES, fees(40.0, 60.0));
    assert_eq!(result.fills[0].price, 106.0);
    assert_eq!(result.fills[0].liquidity, Liquidity::Taker);
}

#[test]
fn no_look_ahead_at_the_deciding_candle() {
    // Candle 0 spans 90..110. A market buy and a limit buy at 95, both
    // decided on candle 0, must not fill at any price of candle 0.
    let mut script = Script::default()
        .on(0, market("now", Side::Buy, Size::Base(1.0)))
        .on(0, limit("inside", Side::Buy, 1.0, 95.0, TimeInForce::GoodTilCancelled, false));
    let rows = [(100.0, 110.0, 90.0, 105.0), (111.0, 115.0, 100.0, 112.0)];
    let result = run(&mut script, &rows, fees(0.0, 0.0));

    assert_eq!(result.fills.len(), 1, "only the market order fills");
    assert_eq!(result.fills[0].tag, "now");
    assert_eq!(result.fills[0].price, 111.0);
    assert_eq!(result.fills[0].time_ms, 1_704_070_800_000);
    assert_eq!(result.equity[0].position, 0.0, "nothing is held at the deciding candle's close");
}

#[test]
fn strategy_sees_candle_only_after_it_closed() {
    let mut script = Script::default();
    run(&mut script, &FOUR_CANDLES, fees(0.0, 0.0));
    let closes: Vec<f64> = script
        .events
        .iter()
        .filter_map(|event| match event {
            Event::Candle(candle) => Some(candle.close),
            _ => None,
        })
        .collect();
    assert_eq!(closes, vec![105.0, 108.0, 96.0, 118.0]);
}

#[test]
fn fill_reaches_strategy_before_next_candle() {
    let mut script = Script::default().on(0, market("buy", Side::Buy, Size::Base(1.0)));
    run(&mut script, &FOUR_CANDLES, fees(0.0, 0.0));

    let kinds: Vec<&str> = script
        .events
        .iter()
        .map(|event| match event {
            Event::Candle(_) => "candle",
            Event::OrderUpdate(_) => "update",
            Event::Fill(_) => "fill",
        })
        .collect();
    assert_eq!(kinds[..5], ["candle", "update", "fill", "update", "candle"]);
    let last_snapshot = script.snapshots.last().unwrap();
    assert_eq!(last_snapshot.positions.len(), 1);
    assert_eq!(last_snapshot.positions[0].size, 1.0);
    assert_eq!(last_snapshot.positions[0].average_entry_price, 106.0);
}

#[test]
fn sell_without_position_is_rejected_with_reason() {
    let mut script = Script::default().on(0, market("short", Side::Sell, Size::Base(1.0)));
    let result = run(&mut script, &FOUR_CANDLES, fees(0.0, 0.0));

    let (status, reason) = script.final_status("short");
    assert_eq!(status, OrderStatus::Rejected);
    assert!(reason.unwrap().starts_with("insufficient position"));
    assert!(result.fills.is_empty());
    assert_eq!(result.rejections.len(), 1);
}

#[test]
fn buy_beyond_cash_is_rejected_with_reason() {
    let mut script = Script::default().on(0, market("all-in", Side::Buy, Size::Quote(10_000.01)));
    let result = run(&mut script, &FOUR_CANDLES, fees(0.0, 0.0));

    let (status, reason) = script.final_status("all-in");
    assert_eq!(status, OrderStatus::Rejected);
    assert!(reason.unwrap().starts_with("insufficient cash"));
    assert!(result.fills.is_empty());
}

#[test]
fn base_buy_rejected_when_fill_costs_more() {
    // 94 units at the close of 105 fit in 10,000 with fees, but the next
    // open of 106 makes them cost 9,964 + 59.78 fee = 10,023.78.
    let mut script = Script::default().on(0, market("tight", Side::Buy, Size::Base(94.0)));
    let rows = [(100.0, 110.0, 90.0, 100.0), (106.0, 112.0, 101.0, 108.0)];
    let result = run(&mut script, &rows, fees(0.0, 60.0));

    let updates = script.updates();
    assert_eq!(updates[0].1, OrderStatus::Open);
    assert_eq!(updates[1].1, OrderStatus::Rejected);
    assert!(updates[1].2.as_deref().unwrap().starts_with("insufficient cash"));
    assert!(result.fills.is_empty());
    assert_eq!(result.equity[1].cash, 10_000.0);
}

#[test]
fn open_orders_reserve_cash() {
    // The first limit order reserves 9,000; the second cannot use that cash.
    let mut script = Script::default()
        .on(0, limit("first", Side::Buy, 90.0, 100.0, TimeInForce::GoodTilCancelled, false))
        .on(0, limit("second", Side::Buy, 20.0, 100.0, TimeInForce::GoodTilCancelled, false));
    run(&mut script, &FOUR_CANDLES, fees(0.0, 0.0));

    assert_eq!(script.final_status("second").0, OrderStatus::Rejected);
    assert!(script.final_status("second").1.unwrap().contains("insufficient cash"));
}

#[test]
fn post_only_that_would_cross_is_rejected() {
    let mut script = Script::default().on(0, limit("maker", Side::Buy, 1.0, 107.0, TimeInForce::GoodTilCancelled, true));
    let result = run(&mut script, &FOUR_CANDLES, fees(40.0, 60.0));
    let (status, reason) = script.final_status("maker");
    assert_eq!(status, OrderStatus::Rejected);
    assert!(reason.unwrap().contains("post-only"));
    assert!(result.fills.is_empty());
}

#[test]
fn immediate_or_cancel_not_marketable_is_cancelled() {
    let mut script = Script::default().on(0, limit("ioc", Side::Buy, 1.0, 95.0, TimeInForce::ImmediateOrCancel, false));
    let result = run(&mut script, &FOUR_CANDLES, fees(0.0, 0.0));
    assert_eq!(script.final_status("ioc").0, OrderStatus::Cancelled);
    assert!(result.fills.is_empty(), "candle 2 reaches 95 but the order is gone");
}

#[test]
fn fill_or_kill_is_rejected_on_spot() {
    let mut script = Script::default().on(0, limit("fok", Side::Buy, 1.0, 107.0, TimeInForce::FillOrKill, false));
    run(&mut script, &FOUR_CANDLES, fees(0.0, 0.0));
    let (status, reason) = script.final_status("fok");
    assert_eq!(status, OrderStatus::Rejected);
    assert!(reason.unwrap().contains("fill-or-kill"));
}

#[test]
fn good_til_date_expires_before_reaching_price() {
    // Expires at the start of candle 2, the candle whose low would fill it.
    let expiry = 1_704_067_200_000 + 2 * 3_600_000;
    let mut script = Script::default().on(0, limit("gtd", Side::Buy, 1.0, 95.0, TimeInForce::GoodTilDate(expiry), false));
    let result = run(&mut script, &FOUR_CANDLES, fees(0.0, 0.0));
    assert_eq!(script.final_status("gtd").0, OrderStatus::Expired);
    assert!(result.fills.is_empty());
}

#[test]
fn cancel_by_tag_removes_open_order() {
    let mut script = Script::default()
        .on(0, limit("dip", Side::Buy, 1.0, 95.0, TimeInForce::GoodTilCancelled, false))
        .on(1, Action::Cancel("dip".to_string()));
    let result = run(&mut script, &FOUR_CANDLES, fees(0.0, 0.0));
    assert_eq!(script.final_status("dip").0, OrderStatus::Cancelled);
    assert!(result.fills.is_empty());
    assert_eq!(result.open_orders_at_end, 0);
}

#[test]
fn cancel_all_removes_every_open_order() {
    let mut script = Script::default()
        .on(0, limit("a", Side::Buy, 1.0, 50.0, TimeInForce::GoodTilCancelled, false))
        .on(0, limit("b", Side::Buy, 1.0, 60.0, TimeInForce::GoodTilCancelled, false))
        .on(1, Action::CancelAll);
    let result = run(&mut script, &FOUR_CANDLES, fees(0.0, 0.0));
    assert_eq!(script.final_status("a").0, OrderStatus::Cancelled);
    assert_eq!(script.final_status("b").0, OrderStatus::Cancelled);
    assert_eq!(result.open_orders_at_end, 0);
}

#[test]
fn invalid_intents_are_rejected_with_reasons() {
    let mut script = Script::default()
        .on(0, market("nan", Side::Buy, Size::Base(f64::NAN)))
        .on(0, market("inf", Side::Buy, Size::Quote(f64::INFINITY)))
        .on(0, market("zero", Side::Buy, Size::Base(0.0)))
        .on(0, market("negative", Side::Buy, Size::Base(-1.0)))
        .on(0, limit("bad-price", Side::Buy, 1.0, -5.0, TimeInForce::GoodTilCancelled, false))
        .on(
            0,
            Action::Place(OrderIntent {
                tag: "eth".to_string(),
                product: "ETH-USD".to_string(),
                side: Side::Buy,
                size: Size::Base(1.0),
                kind: OrderKind::Market,
            }),
        )
        .on(0, market("", Side::Buy, Size::Base(1.0)));
    let result = run(&mut script, &FOUR_CANDLES, fees(0.0, 0.0));

    assert!(result.fills.is_empty());
    for tag in ["nan", "inf", "zero", "negative"] {
        let (status, reason) = script.final_status(tag);
        assert_eq!(status, OrderStatus::Rejected, "{tag}");
        assert!(reason.unwrap().contains("is not a positive finite number"), "{tag}");
    }
    assert!(script.final_status("bad-price").1.unwrap().starts_with("limit price -5"));
    assert!(script.final_status("eth").1.unwrap().contains("\"ETH-USD\" is not configured"));
    assert!(script.final_status("").1.unwrap().starts_with("tag is empty"));
}

#[test]
fn duplicate_open_tag_is_rejected() {
    let mut script = Script::default()
        .on(0, limit("same", Side::Buy, 1.0, 50.0, TimeInForce::GoodTilCancelled, false))
        .on(0, limit("same", Side::Buy, 1.0, 60.0, TimeInForce::GoodTilCancelled, false));
    let result = run(&mut script, &FOUR_CANDLES, fees(0.0, 0.0));
    assert_eq!(script.updates()[1].1, OrderStatus::Rejected);
    assert!(script.updates()[1].2.as_deref().unwrap().contains("already used"));
    assert_eq!(result.open_orders_at_end, 1);
}

#[test]
fn equity_marks_position_at_each_close() {
    let mut script = Script::default().on(0, market("buy", Side::Buy, Size::Base(10.0)));
    let result = run(&mut script, &FOUR_CANDLES, fees(0.0, 60.0));

    // 10 units bought at 106 with a 6.36 fee.
    let cash = 10_000.0 - 1060.0 - 6.36;
    for (index, close) in [(1, 108.0), (2, 96.0), (3, 118.0)] {
        let point = result.equity[index];
        assert!((point.cash - cash).abs() < 1e-9);
        assert_eq!(point.position, 10.0);
        assert_eq!(point.average_entry_price, 106.0);
        assert!((point.unrealised_pnl - 10.0 * (close - 106.0)).abs() < 1e-9);
        assert!((point.equity - (cash + 10.0 * close)).abs() < 1e-9);
    }
}

#[test]
fn trades_add_up_to_equity_change() {
    let mut script = Script::default()
        .on(0, market("b1", Side::Buy, Size::Base(5.0)))
        .on(1, market("s1", Side::Sell, Size::Base(5.0)))
        .on(2, market("b2", Side::Buy, Size::Base(3.0)));
    let result = run(&mut script, &FOUR_CANDLES, fees(40.0, 60.0));

    assert_eq!(result.trades.len(), 2);
    assert!(!result.trades[0].open);
    assert!(result.trades[1].open);
    let net: f64 = result.trades.iter().map(|trade| trade.net_pnl).sum();
    let change = result.equity.last().unwrap().equity - 10_000.0;
    assert!((net - change).abs() < 1e-9, "trades {net} against equity change {change}");
}

#[test]
fn invalid_initial_cash_is_refused() {
    let mut script = Script::default();
    let mut config = config(fees(0.0, 0.0));
    config.initial_cash = -1.0;
    let error = backtest::run(&mut script, &series(&FOUR_CANDLES), &config).unwrap_err();
    assert!(error.to_string().contains("initial cash -1"), "{error}");
}
