//! TacticEYE's pipeline library.
//!
//! The modules read as the pipeline: a source is cut into segments (`source`, `segment`), each segment's
//! frames go through `detect` -> `pitch` -> `track` -> `teams` -> `ball` -> `events` -> `stats`, glued by
//! `pipeline`. `state` holds the match state that is checkpointed after every segment through `storage`;
//! `queue` hands segments to workers; `analysis` runs a match end to end over those two seams; `results`
//! reads summaries and exports; `jobs` says where a match waiting for the local server's slots stands.
//! `synth` renders synthetic matches with ground truth (`truth`) and `eval` scores an analysis against it;
//! `render` draws what was found on frames; `clock` holds time and the crash tests' stop points.

pub mod analysis;
pub mod annotate;
pub mod appearance;
pub mod aws;
pub mod ball;
pub mod cdf;
pub mod clock;
pub mod cost;
pub mod detect;
pub mod eval;
pub mod events;
pub mod geometry;
pub mod ids;
pub mod jobs;
pub mod logging;
pub mod models;
pub mod pipeline;
pub mod pitch;
pub mod push;
pub mod queue;
pub mod reference;
pub mod render;
pub mod results;
pub mod segment;
pub mod source;
pub mod staging;
pub mod state;
pub mod stats;
pub mod storage;
pub mod synth;
pub mod tables;
pub mod teams;
pub mod track;
pub mod truth;
