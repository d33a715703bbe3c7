//! The pipeline as a library: verify -> plan -> venv -> normalize -> deb,
//! wired together once. [`stage`] builds the venv under a package staging
//! directory (what `venvdeb stage` and dh_venvdeb need); [`build`] adds the
//! control area and writes the .deb and the documents beside it (what
//! `venvdeb build` and `venvdeb rebuild` need). The commands only parse
//! arguments and print.
mod build;
mod stage;

pub(crate) use build::build;
pub(crate) use stage::{stage, write_substvars, StageOptions};

/// Phase timings on stderr when `VENVDEB_TIMINGS` is set (for the
/// benchmarks); silent otherwise.
pub(crate) struct Timings {
    on: bool,
    last: std::time::Instant,
    last_cpu: f64,
}

/// This process's user + system CPU seconds (all threads), from
/// /proc/self/stat (clock ticks of 1/100 s); 0 if unreadable.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesized command name: state is field 3,
    // utime 14, stime 15.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

/// This process's peak resident set size so far (VmHWM), in KiB; 0 if
/// unreadable.
fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

/// A `kB` field of /proc/self/status; 0 if unreadable.
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// glibc malloc's bytes in use and bytes it holds (all arenas, mmapped
/// chunks included).
fn malloc_bytes() -> (usize, usize) {
    // SAFETY: mallinfo2 only reads the allocator's statistics.
    let m = unsafe { libc::mallinfo2() };
    (m.uordblks + m.hblkhd, m.arena + m.hblkhd)
}

impl Timings {
    pub(crate) fn new() -> Timings {
        Timings {
            on: std::env::var_os("VENVDEB_TIMINGS").is_some(),
            last: std::time::Instant::now(),
            last_cpu: cpu_seconds(),
        }
    }

    /// Print how long the phase that just ended took.
    pub(crate) fn done(&mut self, phase: &str) {
        if self.on {
            let now = std::time::Instant::now();
            let cpu = cpu_seconds();
            let heap = malloc_bytes();
            eprintln!(
                "venvdeb: timing: {phase}: {:.3} s wall, {:.2} s cpu, peak RSS so far {} MB (now {} MB: {} anon, {} file; malloc {} MB in use of {} MB)",
                (now - self.last).as_secs_f64(),
                cpu - self.last_cpu,
                peak_rss_kib() / 1024,
                status_kib("VmRSS:") / 1024,
                status_kib("RssAnon:") / 1024,
                status_kib("RssFile:") / 1024,
                heap.0 >> 20,
                heap.1 >> 20,
            );
            self.last = now;
            self.last_cpu = cpu;
        }
    }
}
