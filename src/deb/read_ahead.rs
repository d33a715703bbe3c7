//! The reading threads of the one-pass data member
//! ([`super::write_deb_data_first`]): `threads` workers take the regular
//! files in archive order, each reading one file (from disk, or from the
//! build's `DataSource`: inflated from its wheel) into bounded chunks sent
//! through a channel of its own, computing its md5 and the build-path scan
//! on the way; the archive writer consumes the files strictly in archive
//! order, so the bytes never depend on the thread count or timing. Memory
//! is bounded: at most `AHEAD` files past the one being archived are taken,
//! each with at most `CHUNKS` chunks of `CHUNK` bytes waiting. The first
//! failure in archive order is the one reported; it stops the workers.
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Condvar, Mutex};

use anyhow::{bail, Context, Result};
use md5::{Digest, Md5};

use super::listing::Listing;
use super::tar::TarWriter;
use super::walk::{Entry, EntryKind};
use super::DataSource;
use crate::normalize::ScanningWriter;

const CHUNK: usize = 64 << 10;
const CHUNKS: usize = 2;
const AHEAD: usize = 16;

/// Chunk buffers handed back by the archive writer for the workers to
/// fill again: a steady state without allocations (each thread's malloc
/// arena would otherwise keep its own share of freed chunks).
struct Pool(Mutex<Vec<Vec<u8>>>);

impl Pool {
    fn take(&self) -> Vec<u8> {
        let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
        v.pop().unwrap_or_else(|| Vec::with_capacity(CHUNK))
    }

    fn give(&self, mut buf: Vec<u8>) {
        buf.clear();
        let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if v.len() < AHEAD * CHUNKS {
            v.push(buf);
        }
    }
}

/// What a worker sends about its file.
enum Msg {
    Data(Vec<u8>),
    Done([u8; 16]),
    Failed(anyhow::Error),
}

/// How far the archive writer has got (files consumed), for the workers
/// to stay at most `AHEAD` files ahead.
struct Window {
    consumed: Mutex<usize>,
    moved: Condvar,
}

impl Window {
    /// Wait until job `j` is within reach (or the pass stopped).
    fn wait_for(&self, j: usize, stop: &AtomicBool) {
        let mut c = self.consumed.lock().unwrap_or_else(|e| e.into_inner());
        while j >= *c + AHEAD && !stop.load(Ordering::SeqCst) {
            c = self.moved.wait(c).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn advance(&self) {
        *self.consumed.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.moved.notify_all();
    }
}

/// Entry `i` of the listing, with where it is in the tree at `root` (the
/// listing does not keep every path).
fn with_path(root: &Path, entries: &Listing, i: usize) -> Entry {
    use std::os::unix::ffi::OsStrExt;
    let mut e = entries.get(i);
    let rel = e.name.strip_prefix(b"./").unwrap_or(&e.name);
    let rel = rel.strip_suffix(b"/").unwrap_or(rel);
    e.path = root.join(std::ffi::OsStr::from_bytes(rel));
    e
}

/// Archive `entries` of the tree at `root` (in order, without their paths;
/// the bytes of absent files come from `source`) into `tar`, pushing each regular
/// file's md5 onto `md5s` (in archive order).
pub(super) fn archive<W: Write>(
    tar: &mut TarWriter<W>,
    root: &Path,
    entries: &Listing,
    source: &dyn DataSource,
    needle: Option<&[u8]>,
    threads: usize,
    md5s: &mut Vec<[u8; 16]>,
) -> Result<()> {
    if u32::try_from(entries.len()).is_err() {
        bail!("more than 2^32 entries in one archive");
    }
    let jobs: Vec<u32> = (0..entries.len())
        .filter(|&i| entries.is_file(i))
        .map(|i| i as u32)
        .collect();
    let threads = threads.clamp(1, 16);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let window = Window {
        consumed: Mutex::new(0),
        moved: Condvar::new(),
    };
    let (hand_tx, hand_rx) = sync_channel::<(usize, Receiver<Msg>)>(AHEAD + threads);
    let pool = Pool(Mutex::new(Vec::new()));
    std::thread::scope(|s| {
        for _ in 0..threads {
            let hand_tx = hand_tx.clone();
            let (jobs, next, stop, window, pool) = (&jobs, &next, &stop, &window, &pool);
            s.spawn(move || {
                let mut reader = source.reader();
                loop {
                    let j = next.fetch_add(1, Ordering::SeqCst);
                    if j >= jobs.len() || stop.load(Ordering::SeqCst) {
                        return;
                    }
                    window.wait_for(j, stop);
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let (tx, rx) = sync_channel(CHUNKS);
                    if hand_tx.send((j, rx)).is_err() {
                        return;
                    }
                    let e = &with_path(root, entries, jobs[j] as usize);
                    let msg = match read_one(e, e.absent, reader.as_mut(), needle, &tx, pool) {
                        Ok(md5) => Msg::Done(md5),
                        Err(err) => Msg::Failed(err),
                    };
                    let _ = tx.send(msg);
                }
            });
        }
        drop(hand_tx);
        let mut pending: BTreeMap<usize, Receiver<Msg>> = BTreeMap::new();
        let result = consume(
            tar,
            root,
            entries,
            &hand_rx,
            &mut pending,
            &window,
            &pool,
            md5s,
        );
        // Stop the workers: those waiting for room, for the window or
        // for a handoff all return.
        stop.store(true, Ordering::SeqCst);
        window.moved.notify_all();
        drop(pending);
        drop(hand_rx);
        result
    })
}

#[allow(clippy::too_many_arguments)]
fn consume<W: Write>(
    tar: &mut TarWriter<W>,
    root: &Path,
    entries: &Listing,
    hand_rx: &Receiver<(usize, Receiver<Msg>)>,
    pending: &mut BTreeMap<usize, Receiver<Msg>>,
    window: &Window,
    pool: &Pool,
    md5s: &mut Vec<[u8; 16]>,
) -> Result<()> {
    let mut job = 0usize;
    for i in 0..entries.len() {
        let e = &with_path(root, entries, i);
        if !matches!(e.kind, EntryKind::File { .. }) {
            tar.append(e)?;
            continue;
        }
        let rx = loop {
            if let Some(rx) = pending.remove(&job) {
                break rx;
            }
            match hand_rx.recv() {
                Ok((k, rx)) => {
                    pending.insert(k, rx);
                }
                Err(_) => bail!("internal: the reading threads stopped early"),
            }
        };
        let mut md5 = None;
        tar.append_with(e, &mut |_| Ok(()), &mut |out| loop {
            match rx.recv() {
                Ok(Msg::Data(v)) => {
                    out.write_all(&v)?;
                    pool.give(v);
                }
                Ok(Msg::Done(d)) => {
                    md5 = Some(d);
                    return Ok(());
                }
                Ok(Msg::Failed(err)) => return Err(err),
                Err(_) => bail!("internal: a reading thread stopped"),
            }
        })?;
        md5s.push(md5.context("internal: no md5")?);
        window.advance();
        job += 1;
    }
    Ok(())
}

/// Read one file into chunks on `tx`: its md5, and the scan for `needle`.
fn read_one(
    e: &Entry,
    from_source: bool,
    reader: &mut dyn super::SourceReader,
    needle: Option<&[u8]>,
    tx: &SyncSender<Msg>,
    pool: &Pool,
) -> Result<[u8; 16]> {
    let chunks = Chunks {
        tx,
        pool,
        buf: pool.take(),
        md5: Md5::new(),
    };
    let mut out = ScanningWriter::new(chunks, needle.unwrap_or_default());
    let read = if from_source {
        reader.write(e.source, &e.path, &mut out)
    } else {
        std::fs::File::open(&e.path)
            .and_then(|mut f| std::io::copy(&mut f, &mut out))
            .map(|_| ())
            .with_context(|| format!("reading {}", e.path.display()))
    };
    if out.found {
        bail!(
            "{} contains the build directory {:?}: refusing to package a build path",
            e.path.display(),
            String::from_utf8_lossy(needle.unwrap_or_default())
        );
    }
    read?;
    out.inner.send()?;
    Ok(out.inner.md5.finalize().into())
}

/// A file's bytes on their way to the archive writer.
struct Chunks<'a> {
    tx: &'a SyncSender<Msg>,
    pool: &'a Pool,
    buf: Vec<u8>,
    md5: Md5,
}

impl Chunks<'_> {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, self.pool.take());
        self.tx
            .send(Msg::Data(chunk))
            .map_err(|_| std::io::Error::other("the archive writer stopped"))
    }
}

impl Write for Chunks<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = data.len().min(CHUNK - self.buf.len());
        let data = &data[..n];
        self.md5.update(data);
        self.buf.extend_from_slice(data);
        if self.buf.len() == CHUNK {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
