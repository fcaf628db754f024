//! The fault policy. When a strategy faults, its instance is replaced by a
//! fresh one. A strategy that faults too often in a window of events is
//! quarantined and gets no more events.

use std::collections::VecDeque;

/// Faults allowed within the window before quarantine.
pub const DEFAULT_MAX_FAULTS: usize = 3;
/// Events the fault window spans.
pub const DEFAULT_FAULT_WINDOW_EVENTS: u64 = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultPolicy {
    /// A strategy with this many faults within `window_events` events is
    /// quarantined.
    pub max_faults: usize,
    pub window_events: u64,
}

impl Default for FaultPolicy {
    fn default() -> Self {
        FaultPolicy { max_faults: DEFAULT_MAX_FAULTS, window_events: DEFAULT_FAULT_WINDOW_EVENTS }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Replace the instance and carry on.
    Restart,
    /// Stop delivering events to the strategy.
    Quarantine,
}

/// Counts one strategy's recent faults.
#[derive(Debug, Clone)]
pub struct FaultTracker {
    policy: FaultPolicy,
    recent: VecDeque<u64>,
}

impl FaultTracker {
    pub fn new(policy: FaultPolicy) -> FaultTracker {
        FaultTracker { policy, recent: VecDeque::new() }
    }

    /// Records a fault at `event_index` and decides what happens next.
    pub fn record(&mut self, event_index: u64) -> Verdict {
        self.recent.push_back(event_index);
        while let Some(&oldest) = self.recent.front() {
            if event_index.saturating_sub(oldest) >= self.policy.window_events {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        if self.recent.len() >= self.policy.max_faults {
            Verdict::Quarantine
        } else {
            Verdict::Restart
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarantine_after_max_faults_in_window() {
        let mut tracker = FaultTracker::new(FaultPolicy { max_faults: 3, window_events: 10 });
        assert_eq!(tracker.record(1), Verdict::Restart);
        assert_eq!(tracker.record(5), Verdict::Restart);
        assert_eq!(tracker.record(9), Verdict::Quarantine);
    }

    #[test]
    fn faults_outside_window_are_forgotten() {
        let mut tracker = FaultTracker::new(FaultPolicy { max_faults: 2, window_events: 10 });
        assert_eq!(tracker.record(1), Verdict::Restart);
        assert_eq!(tracker.record(11), Verdict::Restart);
        assert_eq!(tracker.record(15), Verdict::Quarantine);
    }
}
