//! stancekit: train small neural classifiers that label news statements by stance and
//! sentiment, reproducibly and offline, with Candle.
//!
//! The library holds all logic; the `stancekit` binary only parses arguments and prints.

pub mod agreement;
pub mod check;
pub mod checkpoint;
pub mod classify;
pub mod config;
pub mod data;
pub mod distill;
pub mod ensemble;
pub mod error;
pub mod eval;
pub mod guard;
pub mod io;
pub mod layout;
pub mod loaded;
pub mod model;
pub mod optim;
pub mod progress;
pub mod report;
pub mod rng;
pub mod runtime;
pub mod segment;
pub mod select;
pub mod table;
pub mod tensors;
pub mod text;
pub mod train;
pub mod tune;

pub use error::{Error, Result};
