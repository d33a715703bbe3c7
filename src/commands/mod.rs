//! One file per subcommand: argument struct (clap) and `run`. Commands only
//! wire the pipeline stages together; the work lives in the stage modules.
pub mod audit;
pub mod build;
pub mod deb;
pub mod diff;
pub mod init;
pub mod manpages;
pub mod rebuild;
pub mod stage;
pub mod verify;
pub mod wheels;

/// Phase timings on stderr when `VENVDEB_TIMINGS` is set (for the
/// benchmarks); silent otherwise.
pub(crate) struct Timings {
    on: bool,
    last: std::time::Instant,
}

impl Timings {
    pub(crate) fn new() -> Timings {
        Timings {
            on: std::env::var_os("VENVDEB_TIMINGS").is_some(),
            last: std::time::Instant::now(),
        }
    }

    /// Print how long the phase that just ended took.
    pub(crate) fn done(&mut self, phase: &str) {
        if self.on {
            let now = std::time::Instant::now();
            eprintln!(
                "venvdeb: timing: {phase}: {:.3} s",
                (now - self.last).as_secs_f64()
            );
            self.last = now;
        }
    }
}
