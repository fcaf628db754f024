//! Spot portfolio accounting: cash, positions at average cost, realised PnL
//! and fees.

/// One product's holding.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Holding {
    pub product: String,
    /// Base units held; never negative on spot.
    pub size: f64,
    /// Volume-weighted price of the units held, fees excluded; 0 when flat.
    pub average_entry_price: f64,
    /// PnL of the units sold so far against their average entry price,
    /// fees excluded.
    pub realised_pnl: f64,
}

/// Cash and holdings of one strategy, in the quote asset.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub cash: f64,
    holdings: Vec<Holding>,
    pub fees_paid: f64,
}

impl Account {
    pub fn new(cash: f64) -> Account {
        Account { cash, holdings: Vec::new(), fees_paid: 0.0 }
    }

    pub fn holdings(&self) -> &[Holding] {
        &self.holdings
    }

    /// Base units held of `product`.
    pub fn position(&self, product: &str) -> f64 {
        self.holding(product).map_or(0.0, |holding| holding.size)
    }

    pub fn holding(&self, product: &str) -> Option<&Holding> {
        self.holdings.iter().find(|holding| holding.product == product)
    }

    fn holding_mut(&mut self, product: &str) -> &mut Holding {
        let index = match self.holdings.iter().position(|holding| holding.product == product) {
            Some(index) => index,
            None => {
                self.holdings.push(Holding { product: product.to_string(), ..Holding::default() });
                self.holdings.len() - 1
            }
        };
        &mut self.holdings[index]
    }

    /// Books a buy of `size` base units at `price`, paying `fee` in cash.
    pub fn buy(&mut self, product: &str, size: f64, price: f64, fee: f64) {
        self.cash -= size * price + fee;
        self.fees_paid += fee;

        let holding = self.holding_mut(product);
        let cost = holding.size * holding.average_entry_price + size * price;
        holding.size += size;
        holding.average_entry_price = cost / holding.size;
    }

    /// Books a sell of `size` base units at `price`, paying `fee` in cash,
    /// and returns the PnL realised against the average entry price, fees
    /// excluded. The caller has checked that `size` is held.
    pub fn sell(&mut self, product: &str, size: f64, price: f64, fee: f64) -> f64 {
        self.cash += size * price - fee;
        self.fees_paid += fee;

        let holding = self.holding_mut(product);
        let realised = (price - holding.average_entry_price) * size;
        holding.realised_pnl += realised;
        holding.size -= size;
        if holding.size <= 0.0 {
            holding.size = 0.0;
            holding.average_entry_price = 0.0;
        }
        realised
    }

    /// PnL of the units held if they were sold at `mark`, fees excluded.
    pub fn unrealised_pnl(&self, product: &str, mark: f64) -> f64 {
        self.holding(product).map_or(0.0, |holding| holding.size * (mark - holding.average_entry_price))
    }

    /// Cash plus every holding valued at its mark price.
    pub fn equity(&self, mark: impl Fn(&str) -> f64) -> f64 {
        self.cash + self.holdings.iter().map(|holding| holding.size * mark(&holding.product)).sum::<f64>()
    }

    pub fn realised_pnl(&self) -> f64 {
        self.holdings.iter().fold(0.0, |total, holding| total + holding.realised_pnl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buy_averages_entry_price() {
        let mut account = Account::new(1000.0);
        account.buy("BTC-USD", 1.0, 100.0, 1.0);
        account.buy("BTC-USD", 1.0, 200.0, 2.0);
        let holding = account.holding("BTC-USD").unwrap();
        assert_eq!(holding.size, 2.0);
        assert_eq!(holding.average_entry_price, 150.0);
        assert_eq!(account.cash, 1000.0 - 300.0 - 3.0);
        assert_eq!(account.fees_paid, 3.0);
    }

    #[test]
    fn sell_realises_against_average_entry() {
        let mut account = Account::new(1000.0);
        account.buy("BTC-USD", 2.0, 100.0, 0.0);
        let realised = account.sell("BTC-USD", 1.0, 130.0, 0.5);
        assert_eq!(realised, 30.0);
        assert_eq!(account.cash, 1000.0 - 200.0 + 130.0 - 0.5);
        assert_eq!(account.unrealised_pnl("BTC-USD", 110.0), 10.0);
    }

    #[test]
    fn selling_everything_resets_entry_price() {
        let mut account = Account::new(100.0);
        account.buy("BTC-USD", 0.5, 100.0, 0.0);
        account.sell("BTC-USD", 0.5, 90.0, 0.0);
        let holding = account.holding("BTC-USD").unwrap();
        assert_eq!(holding.size, 0.0);
        assert_eq!(holding.average_entry_price, 0.0);
        assert_eq!(holding.realised_pnl, -5.0);
    }
}
