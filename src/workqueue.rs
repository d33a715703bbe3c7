//! The one work queue: a job per item on a few threads, taken in a given
//! order (callers put the biggest first to balance the load), each result
//! stored in the item's own slot, so the output is in input order whatever
//! the timing or the number of threads. What it does not own: what a job
//! does, or how many threads a stage should use.
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::Result;

/// Run `job(i)` for every index in `order` on up to `threads` threads.
/// With `stop_on_error`, no new job starts once one has failed (their slots
/// stay `None`). Returns one slot per item, indexed like the items.
pub(crate) fn run<R: Send>(
    items: usize,
    order: &[usize],
    threads: usize,
    stop_on_error: bool,
    job: impl Fn(usize) -> Result<R> + Sync,
) -> Vec<Option<Result<R>>> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let slots: Vec<Mutex<Option<Result<R>>>> = (0..items).map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, items.max(1)) {
            scope.spawn(|| loop {
                if stop_on_error && failed.load(Ordering::Relaxed) {
                    return;
                }
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&i) = order.get(k) else { return };
                let r = job(i);
                if r.is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
                *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            });
        }
    });
    slots
        .into_iter()
        .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_in_input_order_whatever_the_threads() {
        let order = [3, 1, 0, 2];
        for threads in 1..5 {
            let r = run(4, &order, threads, false, |i| Ok(i * 10));
            let got: Vec<usize> = r.into_iter().map(|s| s.unwrap().unwrap()).collect();
            assert_eq!(got, vec![0, 10, 20, 30]);
        }
    }

    #[test]
    fn stop_on_error_starts_nothing_after_a_failure() {
        // One thread, so the order is the execution order.
        let r = run(3, &[0, 1, 2], 1, true, |i| {
            if i == 1 {
                anyhow::bail!("no")
            }
            Ok(i)
        });
        assert!(matches!(r[0], Some(Ok(0))));
        assert!(matches!(r[1], Some(Err(_))));
        assert!(r[2].is_none());
        let r = run(3, &[0, 1, 2], 1, false, |i| {
            if i == 1 {
                anyhow::bail!("no")
            }
            Ok(i)
        });
        assert!(matches!(r[2], Some(Ok(2))));
    }
}
