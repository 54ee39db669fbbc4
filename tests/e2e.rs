//! The end-to-end tests, one binary with a module per area (one link of the AWS SDK, one set of helpers in
//! `support.rs`).

mod accuracy;
mod bad_input;
mod cdf;
mod cloud;
mod dashboard;
mod detector;
mod infra;
mod live;
mod local_server;
mod parquet;
mod pitch;
mod real_clip;
mod reference;
mod resume;
mod sources;
mod video;
