//! The backtest loop: replays candles through a strategy, the pre-trade
//! checks and the simulated venue, and records equity, fills and trades.
//!
//! Each candle is one step:
//! 1. open orders are matched against the candle (see [`super::venue`]);
//! 2. the portfolio is marked at the candle's close;
//! 3. the strategy receives the fills and order updates of step 1, then the
//!    closed candle;
//! 4. the actions it returns are checked and become open orders, which meet
//!    the market at the next candle's open at the earliest. Acceptances and
//!    rejections reach the strategy at once, as order updates.

use std::collections::VecDeque;

use crate::data::{Candle, CandleSeries};
use crate::risk::{self, Exposure, Rejection};
use crate::sandbox::{FaultPolicy, FaultTracker, Verdict};
use crate::strategy::{
    self, Action, Event, OrderIntent, OrderStatus, OrderUpdate, Portfolio, Position, Strategy,
    StrategyError,
};

use super::account::Account;
use super::trades::{Trade, TradeLedger};
use super::venue::{self, Costs, FillRecord, Outcome, RestingOrder};

/// Maximum order updates a strategy may cause in one step by reacting to its
/// own updates. A strategy that goes past it is placing orders in a loop.
pub const MAX_FOLLOW_UP_EVENTS_PER_CANDLE: usize = 10_000;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BacktestConfig {
    /// The one product this run trades, for example "BTC-USD".
    pub product: String,
    /// Starting cash in the quote asset.
    pub initial_cash: f64,
    pub costs: Costs,
    /// Parameters passed to the strategy's `init`.
    pub params: Vec<(String, String)>,
    pub on_fault: OnFault,
    /// When a strategy that keeps faulting is quarantined, with `--on-fault
    /// skip`.
    pub fault_policy: FaultPolicy,
}

impl Default for BacktestConfig {
    fn default() -> Self {
        BacktestConfig {
            product: "BTC-USD".to_string(),
            initial_cash: 10_000.0,
            costs: Costs::default(),
            params: Vec::new(),
            on_fault: OnFault::Stop,
            fault_policy: FaultPolicy::default(),
        }
    }
}

/// The backtest's response to a strategy fault.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnFault {
    /// Stop the run with an error naming the candle and the fault.
    #[default]
    Stop,
    /// Skip the event, replace the instance and carry on, until the fault
    /// policy quarantines the strategy.
    Skip,
}

/// A fault survived with `--on-fault skip`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FaultRecord {
    /// Events delivered to the strategy before this one.
    pub event_index: u64,
    /// 1-based number of the candle being processed.
    pub candle: usize,
    pub time_ms: i64,
    pub kind: crate::strategy::FaultKind,
    pub detail: String,
}

/// The portfolio at one candle's close.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct EquityPoint {
    /// End of the candle's interval, unix milliseconds.
    pub time_ms: i64,
    pub close: f64,
    pub cash: f64,
    pub position: f64,
    pub average_entry_price: f64,
    pub realised_pnl: f64,
    pub unrealised_pnl: f64,
    pub fees_paid: f64,
    pub equity: f64,
}

/// An intent or cancel the host refused, as reported to the strategy.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RejectionRecord {
    pub time_ms: i64,
    pub tag: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BacktestResult {
    pub equity: Vec<EquityPoint>,
    pub fills: Vec<FillRecord>,
    pub trades: Vec<Trade>,
    pub rejections: Vec<RejectionRecord>,
    /// Orders accepted by the pre-trade checks.
    pub orders_accepted: u64,
    /// Orders still open when the data ran out.
    pub open_orders_at_end: usize,
    pub faults: Vec<FaultRecord>,
    /// Close time of the candle after which the strategy got no more
    /// events, when it was quarantined.
    pub quarantined_at_ms: Option<i64>,
    /// Fuel the strategy used, when it ran under fuel metering.
    pub fuel: Option<crate::sandbox::FuelStats>,
}

#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error("initial cash {value} must be a positive finite amount")]
    InvalidCash { value: f64 },
    #[error(transparent)]
    Init(StrategyError),
    #[error("stopped at candle {index} ({time}): {error}")]
    Strategy { index: usize, time: String, error: StrategyError },
    #[error(
        "stopped at candle {index} ({time}): strategy {strategy} caused more than \
         {MAX_FOLLOW_UP_EVENTS_PER_CANDLE} order updates in one step; it places orders in a loop"
    )]
    FollowUpLoop { index: usize, time: String, strategy: String },
}

/// Formats unix milliseconds as an ISO 8601 UTC time.
pub fn format_time(time_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(time_ms)
        .map_or_else(|| format!("{time_ms} ms"), |time| time.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// Runs `strategy` over `series`.
///
/// # Errors
/// A [`BacktestError`] when the strategy rejects its parameters or faults:
/// a fault stops the run and names the candle.
pub fn run(
    strategy: &mut dyn Strategy,
    series: &CandleSeries,
    config: &BacktestConfig,
) -> Result<BacktestResult, BacktestError> {
    if !(config.initial_cash.is_finite() && config.initial_cash > 0.0) {
        return Err(BacktestError::InvalidCash { value: config.initial_cash });
    }
    strategy.init(&config.params).map_err(BacktestError::Init)?;

    let mut run = Run::new(strategy, series, config);
    for (index, candle) in series.candles.iter().enumerate() {
        run.candle_number = index + 1;
        run.step(candle).map_err(|failure| {
            let time = format_time(candle.start_ms);
            let index = index + 1;
            match failure {
                StepFailure::Strategy(error) => BacktestError::Strategy { index, time, error },
                StepFailure::FollowUpLoop => {
                    BacktestError::FollowUpLoop { index, time, strategy: run.strategy.id().to_string() }
                }
            }
        })?;
    }
    Ok(run.finish())
}

enum StepFailure {
    Strategy(StrategyError),
    FollowUpLoop,
}

impl From<StrategyError> for StepFailure {
    fn from(error: StrategyError) -> Self {
        StepFailure::Strategy(error)
    }
}

struct Run<'a> {
    strategy: &'a mut dyn Strategy,
    config: &'a BacktestConfig,
    interval_ms: i64,
    account: Account,
    orders: Vec<RestingOrder>,
    ledger: TradeLedger,
    result: BacktestResult,
    pending: VecDeque<Event>,
    now_ms: i64,
    last_price: f64,
    /// The candle event, reused so that a step allocates nothing when the
    /// strategy does nothing.
    candle_event: Option<Event>,
    snapshot: Portfolio,
    snapshot_stale: bool,
    faults: FaultTracker,
    events_delivered: u64,
    candle_number: usize,
    quarantined: bool,
}

impl<'a> Run<'a> {
    fn new(strategy: &'a mut dyn Strategy, series: &CandleSeries, config: &'a BacktestConfig) -> Run<'a> {
        let candle_event = Some(Event::Candle(strategy::Candle {
            product: config.product.clone(),
            start_ms: 0,
            interval_ms: series.interval_ms,
            open: 0.0,
            high: 0.0,
            low: 0.0,
            close: 0.0,
            volume: 0.0,
        }));
        Run {
            strategy,
            config,
            interval_ms: series.interval_ms,
            account: Account::new(config.initial_cash),
            orders: Vec::new(),
            ledger: TradeLedger::default(),
            result: BacktestResult {
                equity: Vec::with_capacity(series.candles.len()),
                fills: Vec::new(),
                trades: Vec::new(),
                rejections: Vec::new(),
                orders_accepted: 0,
                open_orders_at_end: 0,
                faults: Vec::new(),
                quarantined_at_ms: None,
                fuel: None,
            },
            pending: VecDeque::new(),
            now_ms: 0,
            last_price: 0.0,
            candle_event,
            snapshot: Portfolio { cash: 0.0, available_cash: 0.0, positions: Vec::new(), open_orders: Vec::new() },
            snapshot_stale: true,
            faults: FaultTracker::new(config.fault_policy),
            events_delivered: 0,
            candle_number: 0,
            quarantined: false,
        }
    }

    fn step(&mut self, candle: &Candle) -> Result<(), StepFailure> {
        self.now_ms = candle.start_ms;
        let finished = venue::match_candle(&mut self.orders, candle, &self.config.costs, &mut self.account);
        for (order, outcome) in finished {
            self.settle(order, outcome);
        }

        self.now_ms = candle.start_ms + self.interval_ms;
        self.last_price = candle.close;
        self.record_equity(candle);

        let mut follow_ups = 0;
        self.deliver_pending(&mut follow_ups)?;

        let mut event = self.candle_event.take().expect("the candle event is put back after each step");
        if let Event::Candle(closed) = &mut event {
            closed.start_ms = candle.start_ms;
            closed.open = candle.open;
            closed.high = candle.high;
            closed.low = candle.low;
            closed.close = candle.close;
            closed.volume = candle.volume;
        }
        let delivered = self.deliver(&event);
        self.candle_event = Some(event);
        delivered?;

        self.deliver_pending(&mut follow_ups)
    }

    fn deliver_pending(&mut self, follow_ups: &mut usize) -> Result<(), StepFailure> {
        while let Some(event) = self.pending.pop_front() {
            *follow_ups += 1;
            if *follow_ups > MAX_FOLLOW_UP_EVENTS_PER_CANDLE {
                return Err(StepFailure::FollowUpLoop);
            }
            self.deliver(&event)?;
        }
        Ok(())
    }

    fn deliver(&mut self, event: &Event) -> Result<(), StepFailure> {
        if self.quarantined {
            return Ok(());
        }
        if self.snapshot_stale {
            self.refresh_snapshot();
        }
        let event_index = self.events_delivered;
        self.events_delivered += 1;
        let actions = match self.strategy.on_event(event, &self.snapshot) {
            Ok(actions) => actions,
            Err(StrategyError::Fault { fault, .. }) if self.config.on_fault == OnFault::Skip => {
                self.survive_fault(event_index, fault);
                return Ok(());
            }
            Err(error) => return Err(error.into()),
        };
        for action in actions {
            self.apply(action);
        }
        Ok(())
    }

    /// Records a fault, then restarts the strategy or quarantines it.
    fn survive_fault(&mut self, event_index: u64, fault: crate::strategy::Fault) {
        tracing::warn!(
            strategy = self.strategy.id(),
            event_index,
            candle = self.candle_number,
            kind = %fault.kind,
            "strategy faulted; skipping the event"
        );
        self.result.faults.push(FaultRecord {
            event_index,
            candle: self.candle_number,
            time_ms: self.now_ms,
            kind: fault.kind,
            detail: fault.detail,
        });

        let mut verdict = self.faults.record(event_index);
        if verdict == Verdict::Restart
            && let Err(error) = self.strategy.restart()
        {
            tracing::warn!(strategy = self.strategy.id(), %error, "strategy restart failed");
            verdict = Verdict::Quarantine;
        }
        if verdict == Verdict::Quarantine {
            self.quarantine();
        }
    }

    /// Stops all events to the strategy and cancels its open orders, so that
    /// nothing trades on its behalf any more.
    fn quarantine(&mut self) {
        tracing::error!(
            strategy = self.strategy.id(),
            faults = self.result.faults.len(),
            candle = self.candle_number,
            "strategy quarantined: it gets no more events"
        );
        self.quarantined = true;
        self.result.quarantined_at_ms = Some(self.now_ms);
        self.orders.clear();
        self.pending.clear();
    }

    fn apply(&mut self, action: Action) {
        match action {
            Action::Place(intent) => self.place(intent),
            Action::Cancel(tag) => match self.orders.iter().position(|order| order.intent.tag == tag) {
                Some(index) => {
                    let order = self.orders.remove(index);
                    self.push_update(&order.intent, OrderStatus::Cancelled, None, None);
                }
                None => {
                    let rejection = Rejection::UnknownTag { tag: tag.clone() };
                    tracing::warn!(strategy = self.strategy.id(), tag, %rejection, "cancel rejected");
                    self.record_rejection(&tag, &rejection);
                }
            },
            Action::CancelAll => {
                for order in std::mem::take(&mut self.orders) {
                    self.push_update(&order.intent, OrderStatus::Cancelled, None, None);
                }
            }
        }
    }

    fn place(&mut self, intent: OrderIntent) {
        let reserved_cash: f64 = self.orders.iter().map(|order| order.reservation.cash).sum();
        let reserved_base: f64 = self.orders.iter().map(|order| order.reservation.base).sum();
        let costs = &self.config.costs;
        let exposure = Exposure {
            product: &self.config.product,
            now_ms: self.now_ms,
            last_price: self.last_price,
            available_cash: self.account.cash - reserved_cash,
            available_position: self.account.position(&self.config.product) - reserved_base,
            max_fee_rate: costs.maker_rate().max(costs.taker_rate()),
            slippage: costs.slippage(),
        };

        let open_tags = self.orders.iter().map(|order| order.intent.tag.as_str());
        match risk::check_intent(&intent, open_tags, &exposure) {
            Ok(reservation) => {
                self.result.orders_accepted += 1;
                self.push_update(&intent, OrderStatus::Open, None, None);
                self.orders.push(RestingOrder::new(intent, reservation));
            }
            Err(rejection) => {
                tracing::debug!(strategy = self.strategy.id(), tag = intent.tag, %rejection, "order rejected");
                self.record_rejection(&intent.tag, &rejection);
                self.push_update(&intent, OrderStatus::Rejected, None, Some(rejection.to_string()));
            }
        }
    }

    fn settle(&mut self, order: RestingOrder, outcome: Outcome) {
        match outcome {
            Outcome::Filled(fill) => {
                self.ledger.record(&fill);
                self.pending.push_back(Event::Fill(strategy::Fill {
                    tag: fill.tag.clone(),
                    product: fill.product.clone(),
                    side: fill.side,
                    size: fill.size,
                    price: fill.price,
                    fee: fill.fee,
                    liquidity: fill.liquidity,
                    time_ms: fill.time_ms,
                }));
                self.push_update(&order.intent, OrderStatus::Filled, Some(&fill), None);
                self.result.fills.push(fill);
            }
            Outcome::Expired => self.push_update(&order.intent, OrderStatus::Expired, None, None),
            Outcome::Cancelled(reason) => {
                self.push_update(&order.intent, OrderStatus::Cancelled, None, Some(reason));
            }
            Outcome::Rejected(rejection) => {
                self.record_rejection(&order.intent.tag, &rejection);
                self.push_update(&order.intent, OrderStatus::Rejected, None, Some(rejection.to_string()));
            }
        }
    }

    fn record_rejection(&mut self, tag: &str, rejection: &Rejection) {
        self.result.rejections.push(RejectionRecord {
            time_ms: self.now_ms,
            tag: tag.to_string(),
            reason: rejection.to_string(),
        });
    }

    fn push_update(
        &mut self,
        intent: &OrderIntent,
        status: OrderStatus,
        fill: Option<&FillRecord>,
        reason: Option<String>,
    ) {
        self.snapshot_stale = true;
        self.pending.push_back(Event::OrderUpdate(OrderUpdate {
            tag: intent.tag.clone(),
            product: intent.product.clone(),
            side: intent.side,
            status,
            filled_size: fill.map_or(0.0, |fill| fill.size),
            average_fill_price: fill.map_or(0.0, |fill| fill.price),
            reason,
            time_ms: fill.map_or(self.now_ms, |fill| fill.time_ms),
        }));
    }

    fn refresh_snapshot(&mut self) {
        let reserved_cash: f64 = self.orders.iter().map(|order| order.reservation.cash).sum();
        self.snapshot.cash = self.account.cash;
        self.snapshot.available_cash = self.account.cash - reserved_cash;
        self.snapshot.positions.clear();
        self.snapshot.positions.extend(self.account.holdings().iter().filter(|holding| holding.size > 0.0).map(
            |holding| Position {
                product: holding.product.clone(),
                size: holding.size,
                average_entry_price: holding.average_entry_price,
            },
        ));
        self.snapshot.open_orders.clear();
        self.snapshot.open_orders.extend(self.orders.iter().map(|order| strategy::OpenOrder {
            tag: order.intent.tag.clone(),
            product: order.intent.product.clone(),
            side: order.intent.side,
            size: order.intent.size,
            kind: order.intent.kind,
        }));
        self.snapshot_stale = false;
    }

    fn record_equity(&mut self, candle: &Candle) {
        let product = self.config.product.as_str();
        let holding = self.account.holding(product);
        self.result.equity.push(EquityPoint {
            time_ms: self.now_ms,
            close: candle.close,
            cash: self.account.cash,
            position: holding.map_or(0.0, |holding| holding.size),
            average_entry_price: holding.map_or(0.0, |holding| holding.average_entry_price),
            realised_pnl: self.account.realised_pnl(),
            unrealised_pnl: self.account.unrealised_pnl(product, candle.close),
            fees_paid: self.account.fees_paid,
            equity: self.account.equity(|_| candle.close),
        });
    }

    fn finish(mut self) -> BacktestResult {
        let mark = self.last_price;
        self.result.trades = self.ledger.trades(|_| mark);
        self.result.open_orders_at_end = self.orders.len();
        self.result.fuel = self.strategy.fuel_stats();
        self.result
    }
}

/// Runs several strategies over the same candles, each on its own thread
/// with its own account, so that one strategy's faults or slowness cannot
/// stop or delay another beyond its own CPU budget. Results come back in
/// the order of `runs`.
pub fn run_many(
    runs: Vec<(Box<dyn Strategy + Send>, BacktestConfig)>,
    series: &CandleSeries,
) -> Vec<Result<BacktestResult, BacktestError>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = runs
            .into_iter()
            .map(|(mut strategy, config)| scope.spawn(move || run(strategy.as_mut(), series, &config)))
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}
