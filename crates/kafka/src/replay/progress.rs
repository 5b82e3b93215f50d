//! Replay progress: messages, rate and an ETA from the high watermarks captured at start.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::config::TopicPartition;
use super::plan::PartitionPlan;

/// A progress report, handed to the progress callback after every applied batch.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayProgress {
    /// Records applied so far (tombstones included).
    pub messages: u64,
    /// Batches applied so far.
    pub batches: u64,
    /// Time since the replay started.
    pub elapsed: Duration,
    /// Average records per second since the start.
    pub rate: f64,
    /// Records left up to the high watermarks captured at start.
    pub remaining: u64,
    /// `remaining / rate`, when the rate is known.
    pub eta: Option<Duration>,
}

/// Tracks positions against the plan.
#[derive(Debug)]
pub(crate) struct Tracker {
    started: Instant,
    messages: u64,
    batches: u64,
    /// Next offset to read per partition, and the high watermark at start.
    positions: BTreeMap<TopicPartition, (i64, i64)>,
}

impl Tracker {
    pub(crate) fn new(plans: &BTreeMap<TopicPartition, PartitionPlan>) -> Tracker {
        Tracker {
            started: Instant::now(),
            messages: 0,
            batches: 0,
            positions: plans
                .iter()
                .map(|(tp, plan)| (tp.clone(), (plan.start, plan.high)))
                .collect(),
        }
    }

    /// The high watermark at start of a partition.
    pub(crate) fn high(&self, tp: &TopicPartition) -> Option<i64> {
        self.positions.get(tp).map(|(_, high)| *high)
    }

    /// Records that the partition's next offset to read is now `next`.
    pub(crate) fn advance(&mut self, tp: &TopicPartition, next: i64) {
        if let Some((position, _)) = self.positions.get_mut(tp) {
            *position = (*position).max(next);
        }
    }

    pub(crate) fn batch_applied(&mut self, records: usize) {
        self.batches += 1;
        self.messages += records as u64;
    }

    /// True when every partition has reached its high watermark at start.
    pub(crate) fn all_caught_up(&self) -> bool {
        self.positions
            .values()
            .all(|(position, high)| position >= high)
    }

    pub(crate) fn report(&self) -> ReplayProgress {
        let elapsed = self.started.elapsed();
        let secs = elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            self.messages as f64 / secs
        } else {
            0.0
        };
        let remaining: u64 = self
            .positions
            .values()
            .map(|(position, high)| u64::try_from(high - position).unwrap_or(0))
            .sum();
        let eta = (rate > 0.0).then(|| Duration::from_secs_f64(remaining as f64 / rate));
        ReplayProgress {
            messages: self.messages,
            batches: self.batches,
            elapsed,
            rate,
            remaining,
            eta,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_and_caught_up_follow_positions() {
        let mut plans = BTreeMap::new();
        plans.insert(("t".to_string(), 0), PartitionPlan { start: 2, high: 10 });
        plans.insert(("t".to_string(), 1), PartitionPlan { start: 5, high: 5 });
        let mut t = Tracker::new(&plans);
        assert_eq!(t.report().remaining, 8);
        assert!(!t.all_caught_up());
        t.advance(&("t".into(), 0), 7);
        t.advance(&("t".into(), 0), 6); // never moves back
        t.batch_applied(5);
        let r = t.report();
        assert_eq!((r.remaining, r.messages, r.batches), (3, 5, 1));
        t.advance(&("t".into(), 0), 10);
        assert!(t.all_caught_up());
    }
}
