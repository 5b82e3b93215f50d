//! Progress reports from `apply` and `rollback`, and a terminal progress bar for them.

use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};

/// Where a running job is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The step (`p1.tmp_deuda.drop`).
    pub step: String,
    /// What is happening now.
    pub message: String,
    /// Units done in this step.
    pub done: u64,
    /// Units in this step (0 when unknown).
    pub total: u64,
}

/// An indicatif bar fed by [`Progress`] reports: one bar per step.
#[derive(Debug, Default)]
pub struct TerminalProgress {
    current: Mutex<Option<(String, ProgressBar)>>,
}

impl TerminalProgress {
    /// A bar drawing to stderr.
    pub fn new() -> TerminalProgress {
        TerminalProgress::default()
    }

    /// Shows one report.
    pub fn update(&self, p: &Progress) {
        let mut current = self.current.lock().expect("progress lock");
        let fresh = current
            .as_ref()
            .map(|(step, _)| step != &p.step)
            .unwrap_or(true);
        if fresh {
            if let Some((_, bar)) = current.take() {
                bar.finish();
            }
            let bar = ProgressBar::new(p.total.max(1));
            bar.set_style(
                ProgressStyle::with_template("{prefix:28} [{bar:30}] {pos}/{len} {wide_msg}")
                    .expect("static template")
                    .progress_chars("=> "),
            );
            bar.set_prefix(p.step.clone());
            *current = Some((p.step.clone(), bar));
        }
        if let Some((_, bar)) = current.as_ref() {
            bar.set_length(p.total.max(p.done).max(1));
            bar.set_position(p.done);
            bar.set_message(p.message.clone());
        }
    }

    /// Finishes the last bar.
    pub fn finish(&self) {
        if let Some((_, bar)) = self.current.lock().expect("progress lock").take() {
            bar.finish();
        }
    }
}
