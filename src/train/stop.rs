//! When the loop evaluates and when it stops to save a resumable state: two small rules the
//! loop asks at every step, kept apart so each is tested on its own.

use super::TrainOptions;
use std::sync::atomic::Ordering;

/// Evaluate every `every` steps (0 = at the end of each epoch), and always at the last step.
#[derive(Debug, Clone, Copy)]
pub struct EvalSchedule {
    pub every: usize,
    pub steps_per_epoch: usize,
    pub total: usize,
}

impl EvalSchedule {
    /// Whether to evaluate after global step `step` (1-based), which is step `pos` (1-based)
    /// of its epoch.
    pub fn due(&self, step: usize, pos: usize) -> bool {
        if step == self.total {
            return true;
        }
        match self.every {
            0 => pos == self.steps_per_epoch,
            n => step.is_multiple_of(n),
        }
    }
}

/// Whether the loop should stop after this step and save a resumable state: on Ctrl-C (the
/// handler's flag), or after `stop_after_steps` steps of this process (a simulated
/// interruption, for tests). Never after the last step: a finished run has nothing to resume.
pub fn interrupted(opts: &TrainOptions, steps_here: usize, step: usize, total: usize) -> bool {
    if step >= total {
        return false;
    }
    let flag = opts
        .interrupt
        .as_ref()
        .is_some_and(|f| f.load(Ordering::SeqCst));
    flag || opts.stop_after_steps.is_some_and(|s| steps_here >= s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    #[test]
    fn evaluation_is_due_at_epoch_ends_or_every_n_steps_and_at_the_last_step() {
        let per_epoch = EvalSchedule {
            every: 0,
            steps_per_epoch: 4,
            total: 10,
        };
        let due: Vec<usize> = (1..=10)
            .filter(|&s| per_epoch.due(s, (s - 1) % 4 + 1))
            .collect();
        assert_eq!(due, vec![4, 8, 10]);
        let every_3 = EvalSchedule {
            every: 3,
            ..per_epoch
        };
        let due: Vec<usize> = (1..=10)
            .filter(|&s| every_3.due(s, (s - 1) % 4 + 1))
            .collect();
        assert_eq!(due, vec![3, 6, 9, 10]);
    }

    #[test]
    fn a_stop_is_asked_by_the_flag_or_the_step_budget_but_never_after_the_last_step() {
        let flag = Arc::new(AtomicBool::new(false));
        let mut opts = TrainOptions {
            interrupt: Some(flag.clone()),
            ..TrainOptions::default()
        };
        assert!(!interrupted(&opts, 5, 5, 10));
        flag.store(true, Ordering::SeqCst);
        assert!(interrupted(&opts, 5, 5, 10));
        assert!(!interrupted(&opts, 10, 10, 10), "the run is complete");
        opts.interrupt = None;
        opts.stop_after_steps = Some(4);
        assert!(!interrupted(&opts, 3, 3, 10));
        assert!(interrupted(&opts, 4, 4, 10));
    }
}
