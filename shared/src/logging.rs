//! One logging set-up for every binary: `TACTICEYE_LOG` (a tracing filter such as `info` or
//! `tacticeye=debug`) over each binary's default level, to stderr.

/// Where the log goes: a terminal or a container keeps timestamps; Lambda's log stream adds its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    Timestamps,
    Without,
}

pub fn init(default_level: &str, clock: Clock) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TACTICEYE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let log = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match clock {
        Clock::Timestamps => log.init(),
        Clock::Without => log.without_time().init(),
    }
}
