//! The reading threads of the one-pass data member
//! ([`super::write_deb_data_first`]): a listing thread walks the tree and
//! hands the entries, in archive order, to the archive writer through a
//! bounded channel; each regular file also becomes a job that one of
//! `threads` workers reads (from disk, or from the build's `DataSource`:
//! inflated from its wheel) into bounded chunks sent through a channel of
//! its own, computing its md5 and the build-path scan on the way. The
//! archive writer consumes the entries strictly in order, so the bytes
//! never depend on the thread count or timing. Memory is bounded, whatever
//! the number of files: at most `HANDED` entries wait between the walk and
//! the writer, at most `AHEAD` files past the one being archived are read,
//! each with at most `CHUNKS` chunks of `CHUNK` bytes waiting. No listing
//! of the whole tree is ever kept. The first failure in archive order is
//! the one reported; it stops the others.
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::{Condvar, Mutex};

use anyhow::{anyhow, bail, Context, Result};
use md5::{Digest, Md5};

use super::tar::TarWriter;
use super::walk::{Entry, EntryKind};
use super::DataSource;
use crate::normalize::ScanningWriter;

const CHUNK: usize = 64 << 10;
const CHUNKS: usize = 2;
const AHEAD: usize = 16;
/// Entries listed but not yet archived (directories, symlinks and files).
const HANDED: usize = 64;

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

/// One regular file for a worker to read: the `number`th of the archive,
/// where it is, and where its bytes go.
struct Job {
    number: usize,
    path: PathBuf,
    absent: bool,
    source: u32,
    tx: SyncSender<Msg>,
}

/// An entry as the listing thread hands it to the archive writer: a
/// regular file comes with the channel its bytes arrive through.
type Handed = (Entry, Option<Receiver<Msg>>);

/// How far the archive writer has got (files consumed), for the workers
/// to stay at most `AHEAD` files ahead.
struct Window {
    consumed: Mutex<usize>,
    moved: Condvar,
}

impl Window {
    /// Wait until file `j` is within reach (or the pass stopped).
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

/// The listing thread's end: each entry `list` emits goes to the archive
/// writer, and each regular file also to the workers.
struct Lister {
    hand: SyncSender<Handed>,
    jobs: Sender<Job>,
    files: usize,
}

impl Lister {
    fn emit(&mut self, e: Entry) -> Result<()> {
        let stopped = || anyhow!("the archive writer stopped");
        let rx = match e.kind {
            EntryKind::File { .. } => {
                let (tx, rx) = sync_channel(CHUNKS);
                // Unbounded, yet never more jobs waiting than `HANDED`:
                // each is followed by its entry on the bounded channel.
                self.jobs
                    .send(Job {
                        number: self.files,
                        path: e.path.clone(),
                        absent: e.absent,
                        source: e.source,
                        tx,
                    })
                    .map_err(|_| stopped())?;
                self.files += 1;
                Some(rx)
            }
            _ => None,
        };
        self.hand.send((e, rx)).map_err(|_| stopped())
    }
}

/// Archive the entries that `list` emits, in the order it emits them
/// (it runs on a thread of its own, and its result is returned), into
/// `tar`: the bytes of regular files from disk, or from `source` for
/// absent ones. `file_done` gets each regular file's md5, in archive
/// order, once its bytes are archived.
pub(super) fn archive<W: Write, T: Send>(
    tar: &mut TarWriter<W>,
    list: impl FnOnce(&mut dyn FnMut(Entry) -> Result<()>) -> Result<T> + Send,
    source: &dyn DataSource,
    needle: Option<&[u8]>,
    threads: usize,
    file_done: &mut dyn FnMut(&Entry, [u8; 16]) -> Result<()>,
) -> Result<T> {
    let threads = threads.clamp(1, 16);
    let stop = AtomicBool::new(false);
    let window = Window {
        consumed: Mutex::new(0),
        moved: Condvar::new(),
    };
    let (job_tx, job_rx) = channel::<Job>();
    let job_rx = Mutex::new(job_rx);
    let (hand_tx, hand_rx) = sync_channel::<Handed>(HANDED);
    let pool = Pool(Mutex::new(Vec::new()));
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (job_rx, stop, window, pool) = (&job_rx, &stop, &window, &pool);
            s.spawn(move || {
                let mut reader = source.reader();
                loop {
                    // Jobs are taken in order: a file is never waited
                    // for while a later one holds a worker.
                    let job = job_rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok(job) = job else { return };
                    window.wait_for(job.number, stop);
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let msg = match read_one(&job, reader.as_mut(), needle, pool) {
                        Ok(md5) => Msg::Done(md5),
                        Err(err) => Msg::Failed(err),
                    };
                    let _ = job.tx.send(msg);
                }
            });
        }
        let lister = s.spawn(move || {
            let mut l = Lister {
                hand: hand_tx,
                jobs: job_tx,
                files: 0,
            };
            list(&mut |e| l.emit(e))
            // Dropping `l` ends both channels: the writer and the
            // workers see the end of the listing.
        });
        let result = consume(tar, &hand_rx, &window, &pool, file_done);
        // Stop the others: workers waiting for the window return, those
        // sending to a dropped channel fail, and so does the listing.
        stop.store(true, Ordering::SeqCst);
        window.moved.notify_all();
        drop(hand_rx);
        let listed = lister
            .join()
            .map_err(|_| anyhow!("the listing thread panicked"))?;
        // The writer's failure comes first in archive order; else the
        // listing's (which ended the entries early).
        result.and(listed)
    })
}

/// Archive the handed entries in order.
fn consume<W: Write>(
    tar: &mut TarWriter<W>,
    hand_rx: &Receiver<Handed>,
    window: &Window,
    pool: &Pool,
    file_done: &mut dyn FnMut(&Entry, [u8; 16]) -> Result<()>,
) -> Result<()> {
    for (e, rx) in hand_rx.iter() {
        let Some(rx) = rx else {
            tar.append(&e)?;
            continue;
        };
        let mut md5 = None;
        tar.append_with(&e, &mut |_| Ok(()), &mut |out| loop {
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
        file_done(&e, md5.context("internal: no md5")?)?;
        window.advance();
    }
    Ok(())
}

/// Read one file into chunks on its channel: its md5, and the scan for
/// `needle`.
fn read_one(
    job: &Job,
    reader: &mut dyn super::SourceReader,
    needle: Option<&[u8]>,
    pool: &Pool,
) -> Result<[u8; 16]> {
    let chunks = Chunks {
        tx: &job.tx,
        pool,
        buf: pool.take(),
        md5: Md5::new(),
    };
    let mut out = ScanningWriter::new(chunks, needle.unwrap_or_default());
    let read = if job.absent {
        reader.write(job.source, &job.path, &mut out)
    } else {
        std::fs::File::open(&job.path)
            .and_then(|mut f| std::io::copy(&mut f, &mut out))
            .map(|_| ())
            .with_context(|| format!("reading {}", job.path.display()))
    };
    if out.found {
        bail!(
            "{} contains the build directory {:?}: refusing to package a build path",
            job.path.display(),
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
