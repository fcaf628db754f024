//! Parameters and decisions of the crossover, independent of the WIT world.

use std::collections::VecDeque;

pub const DEFAULT_FAST: usize = 10;
pub const DEFAULT_SLOW: usize = 30;
/// Share of the available cash spent on each buy. Below 1 so that a buy
/// placed at one close still fits if the next open is higher.
pub const DEFAULT_FRACTION: f64 = 0.95;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Candles in the fast average.
    pub fast: usize,
    /// Candles in the slow average; greater than `fast`.
    pub slow: usize,
    /// Share of the available cash spent on a buy, in (0, 1].
    pub fraction: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params { fast: DEFAULT_FAST, slow: DEFAULT_SLOW, fraction: DEFAULT_FRACTION }
    }
}

impl Params {
    /// Parses `fast`, `slow` and `fraction`; missing ones keep their defaults.
    ///
    /// # Errors
    /// A message naming the parameter and the accepted values, for an
    /// unknown name, a value that is not a number, a window of zero, a
    /// fraction outside (0, 1], or `fast` not below `slow`.
    pub fn parse(pairs: &[(String, String)]) -> Result<Params, String> {
        let mut params = Params::default();
        for (name, value) in pairs {
            match name.as_str() {
                "fast" => params.fast = parse_window(name, value)?,
                "slow" => params.slow = parse_window(name, value)?,
                "fraction" => params.fraction = parse_fraction(value)?,
                _ => {
                    return Err(format!(
                        "unknown parameter {name:?}; accepted: fast, slow, fraction"
                    ));
                }
            }
        }

        if params.fast >= params.slow {
            return Err(format!(
                "parameter fast ({}) must be less than slow ({})",
                params.fast, params.slow
            ));
        }
        Ok(params)
    }
}

fn parse_window(name: &str, value: &str) -> Result<usize, String> {
    let window: usize = value.trim().parse().map_err(|_| {
        format!("parameter {name}: expected a whole number of candles, got {value:?}")
    })?;
    if window == 0 {
        return Err(format!("parameter {name}: must be at least 1 candle, got 0"));
    }
    Ok(window)
}

fn parse_fraction(value: &str) -> Result<f64, String> {
    let fraction: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("parameter fraction: expected a number in (0, 1], got {value:?}"))?;
    if !(fraction > 0.0 && fraction <= 1.0) {
        return Err(format!("parameter fraction: must be in (0, 1], got {value}"));
    }
    Ok(fraction)
}

/// The direction in which the fast average crossed the slow one on the
/// latest close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cross {
    Above,
    Below,
}

/// An order the strategy wants, before it is expressed as a WIT action.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Market buy spending this much quote currency, fees included.
    BuyQuote(f64),
    /// Market sell of this many base units.
    SellBase(f64),
}

/// The account state a decision depends on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Holdings {
    pub available_cash: f64,
    pub position: f64,
    /// True while an earlier order is still open: the strategy waits for it.
    pub order_open: bool,
}

#[derive(Debug, Clone)]
pub struct Crossover {
    params: Params,
    closes: VecDeque<f64>,
    previous_spread: Option<f64>,
}

impl Crossover {
    pub fn new(params: Params) -> Crossover {
        Crossover { params, closes: VecDeque::with_capacity(params.slow), previous_spread: None }
    }

    pub fn params(&self) -> Params {
        self.params
    }

    /// Adds a closing price and reports a cross of the averages, if any.
    /// Nothing is reported until `slow` closes have been seen, and the first
    /// full window only sets the reference spread.
    pub fn update(&mut self, close: f64) -> Option<Cross> {
        if self.closes.len() == self.params.slow {
            self.closes.pop_front();
        }
        self.closes.push_back(close);
        if self.closes.len() < self.params.slow {
            return None;
        }

        // Summing the windows afresh costs `slow` additions but, unlike a
        // running sum, never drifts from the exact average.
        let slow_average = self.closes.iter().sum::<f64>() / self.params.slow as f64;
        let fast_average =
            self.closes.iter().rev().take(self.params.fast).sum::<f64>() / self.params.fast as f64;
        let spread = fast_average - slow_average;

        let cross = match self.previous_spread {
            Some(previous) if previous <= 0.0 && spread > 0.0 => Some(Cross::Above),
            Some(previous) if previous >= 0.0 && spread < 0.0 => Some(Cross::Below),
            _ => None,
        };
        self.previous_spread = Some(spread);
        cross
    }

    /// Adds a closing price and returns the order to place, if any: a buy
    /// when flat and the fast average crosses above, a sell of the whole
    /// position when it crosses below.
    pub fn decide(&mut self, close: f64, holdings: Holdings) -> Option<Decision> {
        let cross = self.update(close)?;
        if holdings.order_open {
            return None;
        }
        match cross {
            Cross::Above if holdings.position == 0.0 && holdings.available_cash > 0.0 => {
                Some(Decision::BuyQuote(holdings.available_cash * self.params.fraction))
            }
            Cross::Below if holdings.position > 0.0 => Some(Decision::SellBase(holdings.position)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn params_default_to_ten_and_thirty() {
        let params = Params::parse(&[]).unwrap();
        assert_eq!(params.fast, 10);
        assert_eq!(params.slow, 30);
    }

    #[test]
    fn params_reject_non_numeric_fast() {
        let error = Params::parse(&pairs(&[("fast", "ten")])).unwrap_err();
        assert!(error.contains("fast"), "{error}");
        assert!(error.contains("\"ten\""), "{error}");
    }

    #[test]
    fn params_reject_zero_slow() {
        let error = Params::parse(&pairs(&[("slow", "0")])).unwrap_err();
        assert!(error.contains("slow"), "{error}");
    }

    #[test]
    fn params_reject_fast_not_below_slow() {
        let error = Params::parse(&pairs(&[("fast", "30"), ("slow", "30")])).unwrap_err();
        assert!(error.contains("fast (30)"), "{error}");
        assert!(error.contains("slow (30)"), "{error}");
    }

    #[test]
    fn params_reject_fraction_above_one() {
        let error = Params::parse(&pairs(&[("fraction", "1.5")])).unwrap_err();
        assert!(error.contains("fraction"), "{error}");
    }

    #[test]
    fn params_reject_unknown_name() {
        let error = Params::parse(&pairs(&[("fats", "3")])).unwrap_err();
        assert!(error.contains("\"fats\""), "{error}");
    }

    #[test]
    fn crossover_reports_cross_above_then_below() {
        let mut crossover = Crossover::new(Params { fast: 1, slow: 2, fraction: 1.0 });
        assert_eq!(crossover.update(10.0), None);
        // Window [10, 9]: fast 9 < slow 9.5, sets the reference spread.
        assert_eq!(crossover.update(9.0), None);
        // Window [9, 11]: fast 11 > slow 10.
        assert_eq!(crossover.update(11.0), Some(Cross::Above));
        assert_eq!(crossover.update(12.0), None);
        // Window [12, 8]: fast 8 < slow 10.
        assert_eq!(crossover.update(8.0), Some(Cross::Below));
    }

    #[test]
    fn decide_buys_only_when_flat() {
        let mut crossover = Crossover::new(Params { fast: 1, slow: 2, fraction: 0.5 });
        let holding = Holdings { available_cash: 100.0, position: 1.0, order_open: false };
        crossover.decide(10.0, holding);
        crossover.decide(9.0, holding);
        assert_eq!(crossover.decide(11.0, holding), None);
    }

    #[test]
    fn decide_buys_fraction_of_available_cash() {
        let mut crossover = Crossover::new(Params { fast: 1, slow: 2, fraction: 0.5 });
        let flat = Holdings { available_cash: 100.0, position: 0.0, order_open: false };
        crossover.decide(10.0, flat);
        crossover.decide(9.0, flat);
        assert_eq!(crossover.decide(11.0, flat), Some(Decision::BuyQuote(50.0)));
    }

    #[test]
    fn decide_sells_whole_position() {
        let mut crossover = Crossover::new(Params { fast: 1, slow: 2, fraction: 0.5 });
        let long = Holdings { available_cash: 0.0, position: 0.25, order_open: false };
        crossover.decide(10.0, long);
        crossover.decide(11.0, long);
        assert_eq!(crossover.decide(8.0, long), Some(Decision::SellBase(0.25)));
    }
}
