//! A family of gauges whose label sets come and go: a label set seen in an earlier round but
//! not in this one is set to 0 (an entity whose last failed row was retried must show 0, not
//! its last non-zero count).

use std::collections::HashSet;

use metrics::Label;

/// One gauge name and the label sets it was last set for.
#[derive(Debug)]
pub(crate) struct GaugeFamily {
    name: &'static str,
    seen: HashSet<Vec<(String, String)>>,
}

impl GaugeFamily {
    pub(crate) fn new(name: &'static str) -> GaugeFamily {
        GaugeFamily {
            name,
            seen: HashSet::new(),
        }
    }

    /// Sets every `(labels, value)` of this round and zeroes the label sets that disappeared.
    pub(crate) fn update(&mut self, values: Vec<(Vec<(&'static str, String)>, f64)>) {
        let mut now = HashSet::new();
        for (labels, value) in values {
            let key: Vec<(String, String)> = labels
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.clone()))
                .collect();
            metrics::gauge!(self.name, to_labels(&key)).set(value);
            now.insert(key);
        }
        for gone in self.seen.difference(&now) {
            metrics::gauge!(self.name, to_labels(gone)).set(0.0);
        }
        self.seen.extend(now);
    }
}

fn to_labels(key: &[(String, String)]) -> Vec<Label> {
    key.iter()
        .map(|(k, v)| Label::new(k.clone(), v.clone()))
        .collect()
}
