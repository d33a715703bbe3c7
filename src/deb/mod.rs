//! The .deb writer: a second, independent implementation of
//! `SOURCE_DATE_EPOCH=S dpkg-deb --root-owner-group -Z<c> --build DIR FILE`
//! that writes the same bytes (dpkg 1.21 on Debian 12).
//!
//! `build_deb` checks the control area (`control`), walks both trees in
//! dpkg-deb's order (`walk`), streams them as GNU tar (`tar`) through the
//! compressor (`compress`) straight into the ar container (`ar`), and writes
//! atomically: a temporary file in the output's directory, renamed into
//! place only when complete. File contents are never held in memory.
pub(crate) mod ar;
pub(crate) mod compress;
pub(crate) mod control;
mod md5sums;
mod read_ahead;
pub(crate) mod tar;
pub(crate) mod walk;

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use compress::Encoder;
use tar::TarWriter;

/// The member compressor (`-Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    #[default]
    Xz,
    Zstd,
    Gzip,
    None,
}

impl std::str::FromStr for Compression {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "xz" => Compression::Xz,
            "zstd" => Compression::Zstd,
            "gzip" => Compression::Gzip,
            "none" => Compression::None,
            _ => bail!("unknown compressor {s:?}: use xz, zstd, gzip or none"),
        })
    }
}

/// How to build.
#[derive(Debug, Clone, Default)]
pub(crate) struct DebOptions {
    pub compression: Compression,
    /// `-z`: the compressor's level; `None` = dpkg-deb's default.
    pub level: Option<u32>,
    /// Mtimes newer than this are clamped to it; the ar headers carry it.
    pub source_date_epoch: u64,
    /// The tree is not normalized on disk (`venvdeb build`'s private
    /// staging tree): each entry is archived with what `crate::normalize`
    /// would have given it — the canonical mode, the mtime
    /// `source_date_epoch` — without a pass of chmod and utimes over the
    /// tree. The bytes are those of the normalized tree.
    pub normalize: bool,
}

/// An entry as the archive records it (`DebOptions::normalize`).
fn as_archived(e: &mut walk::Entry, opts: &DebOptions) {
    if !opts.normalize {
        return;
    }
    match e.kind {
        walk::EntryKind::Directory => e.mode = crate::normalize::canonical_mode(true, e.mode),
        walk::EntryKind::File { .. } | walk::EntryKind::HardLink { .. } => {
            e.mode = crate::normalize::canonical_mode(false, e.mode)
        }
        // Symlinks keep theirs (chmod does not apply to them).
        walk::EntryKind::Symlink { .. } => {}
    }
    e.mtime = i64::try_from(opts.source_date_epoch).unwrap_or(i64::MAX);
}

/// Build `output` from the package tree `root` (with `DEBIAN/control`),
/// byte for byte as `dpkg-deb --root-owner-group` does.
pub(crate) fn build_deb(root: &Path, output: &Path, opts: &DebOptions) -> Result<()> {
    write_deb_uncommitted(root, output, opts)?.commit()
}

/// [`build_deb`] up to, not including, the rename: the complete package in
/// a temporary file beside `output`, for the caller to commit (alone, or
/// with other outputs in a `crate::atomic::OutputSet`).
pub(crate) fn write_deb_uncommitted(
    root: &Path,
    output: &Path,
    opts: &DebOptions,
) -> Result<crate::atomic::AtomicFile> {
    let opts = &effective(opts)?;
    let info = control::check(root)?;
    for w in &info.warnings {
        eprintln!("venvdeb: warning: {w}");
    }
    check_output(root, output)?;
    let mut tmp = crate::atomic::AtomicFile::create(output)?;
    write_deb(tmp.file(), root, opts).with_context(|| format!("writing {}", output.display()))?;
    Ok(tmp)
}

/// The options as dpkg-deb applies them: the level checked, and gzip at
/// level 0 meaning no compression at all.
fn effective(opts: &DebOptions) -> Result<DebOptions> {
    if let Some(level) = opts.level {
        opts.compression.check_level(level)?;
    }
    let mut opts = opts.clone();
    if opts.compression == Compression::Gzip && opts.level == Some(0) {
        opts.compression = Compression::None;
    }
    Ok(opts)
}

fn check_output(root: &Path, output: &Path) -> Result<()> {
    if output.is_dir() {
        bail!(
            "output {} is a directory: give the .deb file name",
            output.display()
        );
    }
    refuse_output_inside(root, output)
}

/// What the data walk of [`write_deb_data_first`] computed from the bytes
/// as they went into the archive.
#[derive(Debug, Clone, Default)]
pub(crate) struct DataSummary {
    /// `DEBIAN/md5sums` as dh_md5sums writes it: every regular file
    /// outside `DEBIAN/`, sorted bytewise by path, `<md5>  <path>`.
    pub md5sums: String,
    /// Installed-Size of the data (dpkg-gencontrol's rule: per file and
    /// symlink `ceil(size / 1024)`, hard links once, 1 per directory,
    /// the root included), in KiB; `DEBIAN/` not counted.
    pub installed_kib: u64,
}

/// Regular files of a tree whose bytes are not on disk: `venvdeb build`
/// leaves each wheel entry in its wheel, and the tree on disk does not hold
/// it (nor the directories that hold only such files): they are listed in
/// [`crate::tree::Absent`]. Shared by the reading threads, each with its
/// own [`SourceReader`].
pub(crate) trait DataSource: Sync {
    /// The files (and directories) not on disk, with their sizes and
    /// modes; the bytes of each of those files come from here.
    fn absent(&self) -> &crate::tree::Absent;
    /// A reader for one thread (its own open files).
    fn reader(&self) -> Box<dyn SourceReader + '_>;
}

/// One thread's access to a [`DataSource`].
pub(crate) trait SourceReader {
    /// Write exactly the listed bytes of absent file number `source`
    /// (`crate::tree::AbsentKind::File`; at `path`) into `out`, failing if
    /// they are not what was planned.
    fn write(&mut self, source: u32, path: &Path, out: &mut dyn Write) -> Result<()>;
}

/// Every file's bytes are on disk.
#[cfg(test)]
pub(crate) struct OnDisk;

#[cfg(test)]
impl DataSource for OnDisk {
    fn absent(&self) -> &crate::tree::Absent {
        static NONE: std::sync::OnceLock<crate::tree::Absent> = std::sync::OnceLock::new();
        NONE.get_or_init(Default::default)
    }
    fn reader(&self) -> Box<dyn SourceReader + '_> {
        Box::new(OnDisk)
    }
}

#[cfg(test)]
impl SourceReader for OnDisk {
    fn write(&mut self, _: u32, path: &Path, _: &mut dyn Write) -> Result<()> {
        bail!("internal: no other source for {}", path.display())
    }
}

/// The .deb of the tree at `root` in one read of its data: the data member
/// is compressed first (into an unlinked temporary file in `scratch`, as
/// dpkg-deb compresses it to a temporary file). A thread walks the tree
/// and hands each entry on as it finds it (no listing of the whole tree is
/// kept); `threads` reading threads take the regular files in archive order, each reading its file (from
/// disk, or from `source`) in bounded chunks while computing its md5 and,
/// with `leak`, failing when the file contains those bytes; the archive
/// writer consumes the files strictly in order (so the bytes do not depend
/// on `threads`), and a thread of its own compresses. Installed-Size and
/// the symlinks' leak check come from the walk, md5sums from lines kept in
/// a scratch file (`md5sums`). `control` then writes
/// the control area from that summary (`DEBIAN/md5sums`, `DEBIAN/control`);
/// the control area is checked and the .deb assembled (`debian-binary`,
/// `control.tar`, `data.tar`) in a temporary file beside `output` for the
/// caller to commit, returned with its sha256 (lowercase hex). The bytes
/// equal [`write_deb_uncommitted`]'s on the finished tree (with the
/// placeholders' real bytes).
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_deb_data_first(
    root: &Path,
    output: &Path,
    opts: &DebOptions,
    scratch: &Path,
    leak: Option<&[u8]>,
    source: &dyn DataSource,
    threads: usize,
    control: impl FnOnce(&DataSummary) -> Result<()>,
) -> Result<(crate::atomic::AtomicFile, String)> {
    let opts = &effective(opts)?;
    check_output(root, output)?;
    let ext = opts.compression.extension();
    let data_name = format!("data.tar{ext}");
    let needle = leak.filter(|n| !n.is_empty());
    let data = crate::atomic::unlinked_beside(&scratch.join("data.tar"))?;
    let out = BufWriter::with_capacity(256 * 1024, data);
    let mut md5sums = md5sums::Lines::new(scratch)?;
    // The walk runs on a thread of its own, handing each entry to the
    // archive writer as it is found: no listing of the whole tree.
    let list = |emit: &mut dyn FnMut(walk::Entry) -> Result<()>| {
        let mut listed = Listed::default();
        walk::walk_with(
            root,
            Some(OsStr::new("DEBIAN")),
            walk::Order::SymlinksLast,
            source.absent(),
            &mut |e| {
                let mut e = e.clone();
                as_archived(&mut e, opts);
                listed.count(&e, needle)?;
                emit(e)
            },
        )?;
        Ok(listed)
    };
    let (out, listed) = compress_tar(out, opts, |tar| {
        read_ahead::archive(tar, list, source, needle, threads, &mut |e, md5| {
            md5sums.push(e, md5)
        })
    })
    .with_context(|| format!("building {data_name}"))?;
    let summary = DataSummary {
        md5sums: md5sums.finish(root, &listed.links)?,
        installed_kib: listed.installed_kib,
    };
    let data = out
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("writing {data_name}"))?;
    control(&summary)?;
    let info = control::check(root)?;
    for w in &info.warnings {
        eprintln!("venvdeb: warning: {w}");
    }
    let mut tmp = crate::atomic::AtomicFile::create(output)?;
    let sha256 = (|| -> Result<String> {
        let mut data = data;
        let size = data.stream_position()?;
        data.seek(SeekFrom::Start(0))?;
        let mut out = write_head(tmp.file(), root, opts)?;
        out.write_all(&ar::member_header(
            &data_name,
            opts.source_date_epoch,
            Some(size),
        )?)?;
        let head_len = out.stream_position()?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        // The .deb's sha256 is taken from the head just written and from
        // the compressed data member on a thread of its own, while this
        // one copies the member into place: the .deb is not read back.
        let (head, member) = (file.try_clone()?, data.try_clone()?);
        let (copied, sha256) = std::thread::scope(|s| {
            let hashing = s.spawn(move || {
                use sha2::Digest;
                let mut h = sha2::Sha256::new();
                hash_range(&mut h, &head, head_len)?;
                hash_range(&mut h, &member, size)?;
                if size % 2 == 1 {
                    h.update(b"\n");
                }
                std::io::Result::Ok(crate::encoding::hex(&h.finalize()))
            });
            let copied = (|| -> Result<()> {
                let copied = std::io::copy(&mut data, &mut *file)?;
                if copied != size {
                    bail!("{data_name}: copied {copied} of {size} bytes");
                }
                if size % 2 == 1 {
                    file.write_all(b"\n")?;
                }
                // Have the .deb written back to disk while the hash ends:
                // the fsync before its rename then has little to wait for.
                start_writeback(file);
                Ok(())
            })();
            let sha256 = hashing
                .join()
                .map_err(|_| anyhow::anyhow!("the hashing thread panicked"));
            (copied, sha256)
        });
        copied?;
        Ok(sha256??)
    })()
    .with_context(|| format!("writing {}", output.display()))?;
    Ok((tmp, sha256))
}

/// Hash bytes `0..len` of `file` (read with pread: the file's offset,
/// shared with its clones, does not move).
fn hash_range(h: &mut sha2::Sha256, file: &File, len: u64) -> std::io::Result<()> {
    use sha2::Digest;
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0u64;
    while at < len {
        let n = (len - at).min(buf.len() as u64) as usize;
        file.read_exact_at(&mut buf[..n], at)?;
        h.update(&buf[..n]);
        at += n as u64;
    }
    Ok(())
}

/// Have the kernel write `file`'s dirty pages back now
/// (`sync_file_range(SYNC_FILE_RANGE_WRITE)`: it waits for the writes to be
/// submitted, not done). Advisory: a failure changes nothing, the fsync
/// before the rename is what makes the file durable.
fn start_writeback(file: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid open descriptor; the call only schedules writeback.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
    }
}

/// What the data walk counts as it lists: Installed-Size, and the hard
/// links (name, first name; archive names without `./`) for md5sums.
#[derive(Default)]
struct Listed {
    installed_kib: u64,
    links: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Listed {
    /// Count archive entry `e`; a symlink into the build directory
    /// (`needle`) is refused.
    fn count(&mut self, e: &walk::Entry, needle: Option<&[u8]>) -> Result<()> {
        self.installed_kib += match &e.kind {
            walk::EntryKind::Directory => 1,
            walk::EntryKind::File { size } => size.div_ceil(1024),
            walk::EntryKind::Symlink { target } => {
                if needle.is_some_and(|n| crate::normalize::contains(target, n)) {
                    bail!(
                        "{} points into the build directory ({})",
                        e.path.display(),
                        String::from_utf8_lossy(target)
                    );
                }
                (target.len() as u64).div_ceil(1024)
            }
            walk::EntryKind::HardLink { target } => {
                let bare = |n: &[u8]| n.strip_prefix(b"./").unwrap_or(n).to_vec();
                self.links.push((bare(&e.name), bare(target)));
                0
            }
        };
        Ok(())
    }
}

/// The ar magic, `debian-binary` and the control member.
fn write_head<'a>(file: &'a mut File, root: &Path, opts: &DebOptions) -> Result<Out<'a>> {
    let sde = opts.source_date_epoch;
    let mut out = BufWriter::with_capacity(256 * 1024, file);
    out.write_all(ar::MAGIC)?;
    ar::write_member(&mut out, "debian-binary", sde, b"2.0\n")?;
    let ext = opts.compression.extension();
    // The control member as dpkg-deb 1.21 makes it: GNU tar's own sorted
    // recursion over DEBIAN/ (symlinks in place) with normalized modes.
    let debian = root.join("DEBIAN");
    member(out, &format!("control.tar{ext}"), opts, |tar| {
        walk::walk(&debian, None, walk::Order::InPlace, &mut |e| {
            let mut e = e.clone();
            as_archived(&mut e, opts);
            e.mode = control::member_mode(e.mode, e.kind == walk::EntryKind::Directory);
            tar.append(&e)
        })
    })
}

fn write_deb(file: &mut File, root: &Path, opts: &DebOptions) -> Result<()> {
    let ext = opts.compression.extension();
    let out = write_head(file, root, opts)?;
    // The data member: dpkg-deb's own walk, symlinks last.
    let data_skip = Some(OsStr::new("DEBIAN"));
    let mut out = member(out, &format!("data.tar{ext}"), opts, |tar| {
        walk::walk(root, data_skip, walk::Order::SymlinksLast, &mut |e| {
            if !opts.normalize {
                return tar.append(e);
            }
            let mut e = e.clone();
            as_archived(&mut e, opts);
            tar.append(&e)
        })
    })?;
    out.flush()?;
    Ok(())
}

type Out<'a> = BufWriter<&'a mut File>;

/// Append one ar member holding a compressed tar that `fill` writes: a
/// header with a placeholder size, the stream, then the size patched in
/// place.
fn member<'a>(
    mut out: Out<'a>,
    name: &str,
    opts: &DebOptions,
    fill: impl FnOnce(&mut TarWriter<ChunkSender>) -> Result<()>,
) -> Result<Out<'a>> {
    let sde = opts.source_date_epoch;
    out.write_all(&ar::member_header(name, sde, None)?)?;
    let header_at = out.stream_position()? - ar::HEADER_LEN;
    let (mut out, ()) =
        compress_tar(out, opts, fill).with_context(|| format!("building {name}"))?;
    let end = out.stream_position()?;
    let size = end - header_at - ar::HEADER_LEN;
    if size % 2 == 1 {
        out.write_all(b"\n")?;
    }
    let after = out.stream_position()?;
    out.seek(SeekFrom::Start(header_at + ar::SIZE_OFFSET))?;
    out.write_all(ar::size_field(size)?.as_bytes())?;
    out.seek(SeekFrom::Start(after))?;
    Ok(out)
}

/// Bytes handed from the tar writer to the compressor thread at a time, and
/// how many such chunks may wait: memory stays bounded whatever the size.
const CHUNK: usize = 256 << 10;
const QUEUE: usize = 4;

/// The tar that `fill` writes, compressed into `out` by a thread of its own
/// (so that reading, hashing and scanning the files overlap with the
/// compressor); returns `out` once the stream is finished, with what
/// `fill` returned. The bytes do not depend on how the tar is cut into chunks.
fn compress_tar<W: Write + Send, T>(
    out: W,
    opts: &DebOptions,
    fill: impl FnOnce(&mut TarWriter<ChunkSender>) -> Result<T>,
) -> Result<(W, T)> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(QUEUE);
    // The compressed chunks' buffers come back to be filled again.
    let (back_tx, back_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(QUEUE + 1);
    std::thread::scope(|s| {
        let compressor = s.spawn(move || -> std::io::Result<W> {
            let mut enc = FirstChunk::new(out, opts);
            for mut chunk in rx {
                enc.write_all(&chunk)?;
                chunk.clear();
                let _ = back_tx.try_send(chunk);
            }
            enc.finish()
        });
        let sender = ChunkSender {
            tx: Some(tx),
            back: back_rx,
            buf: Vec::with_capacity(CHUNK),
        };
        let mut tar = TarWriter::new(sender, opts.source_date_epoch);
        let filled = fill(&mut tar).and_then(|t| {
            let (mut sender, _) = tar.finish()?;
            sender.send_rest().context("cannot write the archive end")?;
            Ok(t)
        });
        // On failure the sender is dropped here: the compressor ends its
        // stream and its output is thrown away with the caller's file.
        let compressed = compressor
            .join()
            .map_err(|_| anyhow::anyhow!("the compressor thread panicked"))?;
        // The compressor's own error explains a fill that could not send.
        match (filled, compressed) {
            (_, Err(e)) => Err(e).context("cannot finish compressing"),
            (Err(e), Ok(_)) => Err(e),
            (Ok(t), Ok(out)) => Ok((out, t)),
        }
    })
}

/// The tar writer's end of the channel to the compressor thread.
pub(crate) struct ChunkSender {
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    back: std::sync::mpsc::Receiver<Vec<u8>>,
    buf: Vec<u8>,
}

impl ChunkSender {
    fn send_buf(&mut self) -> std::io::Result<()> {
        let next = self
            .back
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let chunk = std::mem::replace(&mut self.buf, next);
        let stopped = || std::io::Error::other("the compressor stopped");
        self.tx
            .as_ref()
            .ok_or_else(stopped)?
            .send(chunk)
            .map_err(|_| stopped())
    }

    /// Send what is buffered and close the channel: the stream ends.
    fn send_rest(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            self.send_buf()?;
        }
        self.tx = None;
        Ok(())
    }
}

impl Write for ChunkSender {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.send_buf()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// dpkg-deb feeds its compressor from a pipe in chunks of
/// `ZSTD_CStreamInSize()` bytes and ends the stream at the first short
/// read: a tar shorter than one chunk reaches the compressor whole, with
/// its length known (libzstd then records it in the frame header). This
/// writer holds back the first chunk to make the same decision, then
/// streams.
enum FirstChunk<W: Write> {
    Holding {
        buf: Vec<u8>,
        out: W,
        compression: Compression,
        level: Option<u32>,
    },
    Streaming(Encoder<W>),
    Failed,
}

impl<W: Write> FirstChunk<W> {
    fn new(out: W, opts: &DebOptions) -> Self {
        FirstChunk::Holding {
            buf: Vec::new(),
            out,
            compression: opts.compression,
            level: opts.level,
        }
    }

    fn start(&mut self, known_len: Option<u64>) -> std::io::Result<()> {
        if let FirstChunk::Holding { .. } = self {
            let FirstChunk::Holding {
                buf,
                out,
                compression,
                level,
            } = std::mem::replace(self, FirstChunk::Failed)
            else {
                unreachable!()
            };
            let mut enc =
                Encoder::new(compression, level, out, known_len).map_err(std::io::Error::other)?;
            enc.write_all(&buf)?;
            *self = FirstChunk::Streaming(enc);
        }
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<W> {
        if let FirstChunk::Holding { buf, .. } = &self {
            let len = buf.len() as u64;
            self.start(Some(len))?;
        }
        match self {
            FirstChunk::Streaming(enc) => enc.finish(),
            _ => Err(std::io::Error::other("compressor failed earlier")),
        }
    }
}

impl<W: Write> Write for FirstChunk<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        match self {
            FirstChunk::Holding { buf, .. } => {
                let chunk = compress::ZSTD_IN_CHUNK as usize;
                let n = data.len().min(chunk - buf.len());
                buf.extend_from_slice(&data[..n]);
                if buf.len() == chunk {
                    // A full first chunk: the length stays unknown.
                    self.start(None)?;
                }
                Ok(n)
            }
            FirstChunk::Streaming(enc) => enc.write(data),
            FirstChunk::Failed => Err(std::io::Error::other("compressor failed earlier")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An output inside the tree would be packaged into itself.
fn refuse_output_inside(root: &Path, output: &Path) -> Result<()> {
    let root =
        fs::canonicalize(root).with_context(|| format!("cannot resolve {}", root.display()))?;
    let dir = output_dir(output);
    let dir = fs::canonicalize(&dir)
        .with_context(|| format!("output directory {} does not exist", dir.display()))?;
    if dir.starts_with(&root) {
        bail!(
            "output {} is inside the package tree {}: write it elsewhere",
            output.display(),
            root.display()
        );
    }
    Ok(())
}

fn output_dir(output: &Path) -> PathBuf {
    match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(dir: &Path) -> PathBuf {
        let root = dir.join("root");
        fs::create_dir_all(root.join("DEBIAN")).unwrap();
        fs::write(
            root.join("DEBIAN/control"),
            "Package: t\nVersion: 1\nArchitecture: all\nMaintainer: m\nDescription: d\n",
        )
        .unwrap();
        fs::create_dir(root.join("usr")).unwrap();
        fs::write(root.join("usr/file"), b"0123456789").unwrap();
        root
    }

    #[test]
    fn failure_mid_write_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let root = tree(d.path());
        // Enough data to be streaming when the walk meets the FIFO.
        fs::write(root.join("usr/big"), vec![7u8; 600_000]).unwrap();
        let fifo = root.join("usr/zz-pipe");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let outdir = d.path().join("out");
        fs::create_dir(&outdir).unwrap();
        let output = outdir.join("p.deb");
        let opts = DebOptions {
            source_date_epoch: 1,
            ..Default::default()
        };
        let err = format!("{:#}", build_deb(&root, &output, &opts).unwrap_err());
        assert!(err.contains("zz-pipe is a FIFO"), "{err}");
        assert_eq!(
            fs::read_dir(&outdir).unwrap().count(),
            0,
            "temporary file left behind"
        );
    }

    #[test]
    fn success_renames_into_place() {
        let d = tempfile::tempdir().unwrap();
        let root = tree(d.path());
        let output = d.path().join("p.deb");
        let opts = DebOptions {
            compression: Compression::None,
            source_date_epoch: 1,
            ..Default::default()
        };
        build_deb(&root, &output, &opts).unwrap();
        let bytes = fs::read(&output).unwrap();
        assert!(bytes.starts_with(
            b"!<arch>\ndebian-binary   1           0     0     100644  4         `\n2.0\n"
        ));
        let names: Vec<_> = fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    /// A tree with what the data walk must get right: nested and
    /// bytewise-sorted names (`a-b` < `a/` < `a.b`), a symlink, a hard
    /// link, a name over 100 bytes, an empty file, files bigger than the
    /// tar writer's read buffer and the compressor channel's chunk, and
    /// more files and empty directories in a row than the one-pass
    /// writer's read-ahead and handoff hold.
    fn rich_tree(dir: &Path) -> PathBuf {
        let root = dir.join("root");
        fs::create_dir_all(root.join("DEBIAN")).unwrap();
        fs::write(root.join("DEBIAN/postinst"), "#!/bin/sh\nexit 0\n").unwrap();
        fs::set_permissions(
            root.join("DEBIAN/postinst"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        fs::create_dir_all(root.join("opt/a/deep")).unwrap();
        fs::write(root.join("opt/a-b"), b"dash").unwrap();
        fs::write(root.join("opt/a.b"), b"dot").unwrap();
        fs::write(root.join("opt/a/deep/empty"), b"").unwrap();
        let big: Vec<u8> = (0..(3 * CHUNK + 12345))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        fs::write(root.join("opt/a/big"), &big).unwrap();
        fs::write(root.join(format!("opt/{}", "n".repeat(120))), b"long").unwrap();
        fs::hard_link(root.join("opt/a-b"), root.join("opt/z-hard")).unwrap();
        std::os::unix::fs::symlink("a/big", root.join("opt/0link")).unwrap();
        for d in 0..8 {
            let dir = root.join(format!("opt/many/d{d}"));
            fs::create_dir_all(&dir).unwrap();
            for f in 0..25 {
                fs::write(dir.join(format!("f{f}")), format!("{d} {f}\n").repeat(f)).unwrap();
            }
        }
        for e in 0..100 {
            fs::create_dir_all(root.join(format!("opt/many/empty/{e:03}"))).unwrap();
        }
        root
    }

    /// A one-pass -Z zstd build of `root` (scratch in `dir`, the .deb in
    /// `dir/out`) that must fail: the error with its causes, and `dir/out`.
    fn data_first_failure(
        dir: &Path,
        root: &Path,
        needle: &[u8],
        control: impl FnOnce(&DataSummary) -> Result<()>,
    ) -> (String, PathBuf) {
        let out = dir.join("out");
        fs::create_dir(&out).unwrap();
        let opts = DebOptions {
            compression: Compression::Zstd,
            source_date_epoch: 1,
            ..Default::default()
        };
        let e = write_deb_data_first(
            root,
            &out.join("p.deb"),
            &opts,
            dir,
            Some(needle),
            &OnDisk,
            2,
            control,
        )
        .map(|_| ())
        .unwrap_err();
        (format!("{e:#}"), out)
    }

    /// The first failure in archive order stops the pass, whether it is
    /// a file's (read by a worker while the walk goes on) or the walk's
    /// (after many files were handed on): nothing hangs, nothing is left.
    #[test]
    fn data_first_stops_on_the_first_failure() {
        let needle = b"/tmp/.venvdeb-build-demo-42-0";
        for (leak, fifo) in [(true, true), (false, true), (true, false)] {
            let d = tempfile::tempdir().unwrap();
            let root = rich_tree(d.path());
            if leak {
                fs::write(root.join("opt/a-b-leaky"), needle).unwrap();
            }
            if fifo {
                let p = root.join("opt/zz-fifo");
                let st = std::process::Command::new("mkfifo")
                    .arg(&p)
                    .status()
                    .unwrap();
                assert!(st.success());
            }
            let (e, out) = data_first_failure(d.path(), &root, needle, |_| Ok(()));
            if leak {
                assert!(
                    e.contains("opt/a-b-leaky") && e.contains("build directory"),
                    "{e}"
                );
            } else {
                assert!(e.contains("opt/zz-fifo") && e.contains("a FIFO"), "{e}");
            }
            assert_eq!(fs::read_dir(&out).unwrap().count(), 0);
        }
    }

    const CONTROL: &str =
        "Package: t\nVersion: 1\nArchitecture: all\nMaintainer: m\nDescription: d\n";

    /// The one-pass writer gives the bytes of the disk-tree writer on the
    /// finished tree, and its md5sums and Installed-Size are what the
    /// disk-walking versions (`package::md5sums`, `installed_size`) compute.
    #[test]
    fn data_first_equals_the_disk_writer() {
        // Every compressor, and one, two and five reading threads.
        for (c, threads) in [
            (Compression::Xz, 2),
            (Compression::Zstd, 1),
            (Compression::Zstd, 5),
            (Compression::Gzip, 2),
            (Compression::None, 1),
            (Compression::None, 5),
        ] {
            let d = tempfile::tempdir().unwrap();
            let root = rich_tree(d.path());
            let want_kib = crate::package::installed_size(&root).unwrap();
            let want_sums = crate::package::md5sums(&root).unwrap();
            let debian_kib = crate::package::installed_size(&root.join("DEBIAN")).unwrap();
            let opts = DebOptions {
                compression: c,
                source_date_epoch: 1_700_000_000,
                ..Default::default()
            };
            let one = d.path().join("one.deb");
            let mut seen = None;
            let (file, sha256) = write_deb_data_first(
                &root,
                &one,
                &opts,
                d.path(),
                Some(b"/nowhere"),
                &OnDisk,
                threads,
                |s| {
                    fs::write(root.join("DEBIAN/control"), CONTROL)?;
                    fs::write(root.join("DEBIAN/md5sums"), &s.md5sums)?;
                    seen = Some(s.clone());
                    Ok(())
                },
            )
            .unwrap();
            file.commit().unwrap();
            // The sha256 taken on the way is the written file's (with the
            // data member's padding byte when its length is odd).
            assert_eq!(
                sha256,
                crate::encoding::sha256_file(&one).unwrap().0,
                "{c:?}"
            );
            let seen = seen.unwrap();
            assert_eq!(seen.md5sums, want_sums, "{c:?}");
            assert!(seen.md5sums.contains("  opt/z-hard\n"), "{}", seen.md5sums);
            assert_eq!(seen.installed_kib + debian_kib, want_kib, "{c:?}");
            let two = d.path().join("two.deb");
            build_deb(&root, &two, &opts).unwrap();
            assert!(
                fs::read(&one).unwrap() == fs::read(&two).unwrap(),
                "{c:?}, {threads} threads"
            );
            // The unlinked scratch file is gone.
            let left: Vec<_> = fs::read_dir(d.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .filter(|n| n.to_string_lossy().contains("venvdeb-data"))
                .collect();
            assert!(left.is_empty(), "{left:?}");
        }
    }

    /// `DebOptions::normalize`: a tree left as the umask and the clock
    /// made it gives the bytes of the same tree normalized on disk, from
    /// both writers.
    #[test]
    fn normalize_as_read_equals_normalized_on_disk() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let root = rich_tree(d.path());
        let mode = |p: &str, m: u32| {
            fs::set_permissions(root.join(p), fs::Permissions::from_mode(m)).unwrap()
        };
        mode("opt/a", 0o700);
        mode("opt/a/deep", 0o2775);
        mode("opt/a-b", 0o600);
        mode("opt/a.b", 0o4750);
        mode("opt/a/big", 0o666);
        let old = filetime::FileTime::from_unix_time(1_000, 0);
        filetime::set_file_mtime(root.join("opt/a.b"), old).unwrap();
        fs::write(root.join("DEBIAN/control"), CONTROL).unwrap();
        let sde = 1_700_000_000;
        let opts = DebOptions {
            compression: Compression::Zstd,
            source_date_epoch: sde,
            normalize: true,
            ..Default::default()
        };
        let as_read = d.path().join("as-read.deb");
        write_deb_data_first(&root, &as_read, &opts, d.path(), None, &OnDisk, 2, |s| {
            fs::write(root.join("DEBIAN/md5sums"), &s.md5sums)?;
            crate::normalize::normalize(&root.join("DEBIAN"), sde)?;
            Ok(())
        })
        .unwrap()
        .0
        .commit()
        .unwrap();
        let as_read_disk = d.path().join("as-read-disk.deb");
        build_deb(&root, &as_read_disk, &opts).unwrap();
        crate::normalize::normalize(&root, sde).unwrap();
        let on_disk = d.path().join("on-disk.deb");
        let plain = DebOptions {
            normalize: false,
            ..opts
        };
        build_deb(&root, &on_disk, &plain).unwrap();
        let want = fs::read(&on_disk).unwrap();
        assert!(fs::read(&as_read).unwrap() == want);
        assert!(fs::read(&as_read_disk).unwrap() == want);
    }

    /// And what real dpkg-deb makes of the same tree (dpkg-deb is part of
    /// the test dependencies).
    #[test]
    fn data_first_equals_dpkg_deb() {
        let d = tempfile::tempdir().unwrap();
        let root = rich_tree(d.path());
        let opts = DebOptions {
            compression: Compression::Zstd,
            source_date_epoch: 1_700_000_000,
            ..Default::default()
        };
        let ours = d.path().join("ours.deb");
        write_deb_data_first(&root, &ours, &opts, d.path(), None, &OnDisk, 2, |s| {
            fs::write(root.join("DEBIAN/control"), CONTROL)?;
            fs::write(root.join("DEBIAN/md5sums"), &s.md5sums)?;
            Ok(())
        })
        .unwrap()
        .0
        .commit()
        .unwrap();
        let theirs = d.path().join("theirs.deb");
        let st = std::process::Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Zzstd", "--build"])
            .arg(&root)
            .arg(&theirs)
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
        assert!(fs::read(&ours).unwrap() == fs::read(&theirs).unwrap());
    }

    /// A build path in a file, across the tar writer's read buffer and the
    /// channel's chunks, or in a symlink target, fails the build, names the
    /// file, and leaves nothing behind; `control` is never called.
    #[test]
    fn data_first_leak_fails_closed() {
        let needle = b"/tmp/.venvdeb-build-demo-42-0";
        for (cut, link) in [(256 * 1024, false), (CHUNK, false), (5, false), (0, true)] {
            let d = tempfile::tempdir().unwrap();
            let root = rich_tree(d.path());
            if link {
                std::os::unix::fs::symlink("/tmp/.venvdeb-build-demo-42-0/x", root.join("opt/l"))
                    .unwrap();
            } else {
                // The needle straddles offset `cut` of the file.
                let mut bytes = vec![b'x'; cut - 3];
                bytes.extend_from_slice(needle);
                bytes.extend_from_slice(b"tail");
                fs::write(root.join("opt/a/leaky"), &bytes).unwrap();
            }
            let mut called = false;
            let (e, out) = data_first_failure(d.path(), &root, needle, |_| {
                called = true;
                Ok(())
            });
            let what = if link { "opt/l" } else { "opt/a/leaky" };
            assert!(e.contains(what) && e.contains("build directory"), "{e}");
            assert!(!called);
            assert_eq!(fs::read_dir(&out).unwrap().count(), 0);
        }
    }
}
