//! Strategies and data compiled into the binary, so that `stratbox backtest`
//! runs with no files at hand.

/// The SMA crossover component, built from `strategies/sma-crossover` by
/// the build script.
pub const SMA_CROSSOVER_WASM: &[u8] = include_bytes!(env!("STRATBOX_SMA_CROSSOVER_WASM"));
pub const SMA_CROSSOVER_ID: &str = "sma-crossover";

/// Coinbase BTC-USD hourly candles from 2023-12-31 23:00 to 2024-09-11
/// 17:00 UTC, MIT licensed; see `data/LICENSE-coinbase-btc-usd-1h-2024.txt`.
pub const BTC_USD_1H_2024_CSV: &[u8] = include_bytes!("../../data/coinbase-btc-usd-1h-2024.csv");
pub const BTC_USD_1H_2024_NAME: &str = "data/coinbase-btc-usd-1h-2024.csv";
pub const BTC_USD_PRODUCT: &str = "BTC-USD";
