//! Learning-rate schedules and early stopping: small pure functions, tested on their own.

use crate::config::Schedule;
use serde::{Deserialize, Serialize};

/// Learning rate at `step` (0-based) of `total` steps.
pub fn learning_rate(
    schedule: Schedule,
    base: f64,
    step: usize,
    warmup: usize,
    total: usize,
) -> f64 {
    if warmup > 0 && step < warmup && schedule != Schedule::Constant {
        return base * (step + 1) as f64 / warmup as f64;
    }
    let span = total.saturating_sub(warmup).max(1) as f64;
    let progress = (step.saturating_sub(warmup) as f64 / span).min(1.0);
    match schedule {
        Schedule::Constant => base,
        Schedule::Linear => base * (1.0 - progress),
        Schedule::Cosine => base * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()),
    }
}

/// Tracks the best dev score and how many evaluations have passed without improving on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    pub patience: usize,
    /// Whether lower is better (a loss).
    pub minimise: bool,
    pub best: Option<f64>,
    pub best_step: usize,
    pub bad_evals: usize,
}

impl EarlyStopping {
    pub fn new(patience: usize, minimise: bool) -> Self {
        EarlyStopping {
            patience,
            minimise,
            best: None,
            best_step: 0,
            bad_evals: 0,
        }
    }

    /// Record a dev score; returns whether it is a new best.
    pub fn observe(&mut self, value: f64, step: usize) -> bool {
        let better = match self.best {
            None => true,
            Some(b) => {
                if self.minimise {
                    value < b
                } else {
                    value > b
                }
            }
        };
        if better {
            self.best = Some(value);
            self.best_step = step;
            self.bad_evals = 0;
        } else {
            self.bad_evals += 1;
        }
        better
    }

    pub fn should_stop(&self) -> bool {
        self.patience > 0 && self.bad_evals >= self.patience
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_schedule_ignores_warmup_and_progress() {
        assert_eq!(learning_rate(Schedule::Constant, 0.1, 0, 10, 100), 0.1);
        assert_eq!(learning_rate(Schedule::Constant, 0.1, 99, 10, 100), 0.1);
    }

    #[test]
    fn linear_schedule_warms_up_then_decays_to_zero() {
        assert!((learning_rate(Schedule::Linear, 1.0, 0, 10, 110) - 0.1).abs() < 1e-12);
        assert!((learning_rate(Schedule::Linear, 1.0, 9, 10, 110) - 1.0).abs() < 1e-12);
        assert!((learning_rate(Schedule::Linear, 1.0, 60, 10, 110) - 0.5).abs() < 1e-12);
        assert_eq!(learning_rate(Schedule::Linear, 1.0, 110, 10, 110), 0.0);
    }

    #[test]
    fn cosine_schedule_is_half_way_at_the_midpoint() {
        assert!((learning_rate(Schedule::Cosine, 1.0, 0, 0, 100) - 1.0).abs() < 1e-12);
        assert!((learning_rate(Schedule::Cosine, 1.0, 50, 0, 100) - 0.5).abs() < 1e-12);
        assert!(learning_rate(Schedule::Cosine, 1.0, 100, 0, 100).abs() < 1e-12);
    }

    #[test]
    fn early_stop_after_patience_epochs() {
        let mut es = EarlyStopping::new(2, false);
        assert!(es.observe(0.5, 1));
        assert!(!es.should_stop());
        assert!(!es.observe(0.4, 2));
        assert!(!es.should_stop());
        assert!(!es.observe(0.5, 3), "equal is not an improvement");
        assert!(es.should_stop());
        assert_eq!((es.best, es.best_step), (Some(0.5), 1));
    }

    #[test]
    fn improvement_resets_patience_and_loss_is_minimised() {
        let mut es = EarlyStopping::new(2, true);
        es.observe(1.0, 1);
        es.observe(1.1, 2);
        assert!(es.observe(0.9, 3));
        assert_eq!(es.bad_evals, 0);
        let never = EarlyStopping {
            bad_evals: 100,
            ..EarlyStopping::new(0, false)
        };
        assert!(!never.should_stop(), "patience 0 never stops");
    }
}
