//! Evaluation: metrics from gold and predicted labels, and prediction through the one shared
//! forward pass.

pub mod metrics;
pub mod predict;
pub mod thresholds;

pub use metrics::{ClassMetrics, Metrics};
pub use predict::{predict, Predictions};
