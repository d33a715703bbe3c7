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
    if let Some(level) = opts.level {
        opts.compression.check_level(level)?;
    }
    // As dpkg-deb: gzip at level 0 means no compression at all.
    let mut opts = opts.clone();
    if opts.compression == Compression::Gzip && opts.level == Some(0) {
        opts.compression = Compression::None;
    }
    let opts = &opts;
    let info = control::check(root)?;
    for w in &info.warnings {
        eprintln!("venvdeb: warning: {w}");
    }
    if output.is_dir() {
        bail!(
            "output {} is a directory: give the .deb file name",
            output.display()
        );
    }
    refuse_output_inside(root, output)?;
    let mut tmp = crate::atomic::AtomicFile::create(output)?;
    write_deb(tmp.file(), root, opts).with_context(|| format!("writing {}", output.display()))?;
    Ok(tmp)
}

fn write_deb(file: &mut File, root: &Path, opts: &DebOptions) -> Result<()> {
    let sde = opts.source_date_epoch;
    let mut out = BufWriter::with_capacity(256 * 1024, &mut *file);
    out.write_all(ar::MAGIC)?;
    ar::write_member(&mut out, "debian-binary", sde, b"2.0\n")?;
    let ext = opts.compression.extension();
    // The control member as dpkg-deb 1.21 makes it: GNU tar's own sorted
    // recursion over DEBIAN/ (symlinks in place) with normalized modes.
    let debian = root.join("DEBIAN");
    let out = member(out, &format!("control.tar{ext}"), opts, |tar| {
        walk::walk(&debian, None, walk::Order::InPlace, &mut |e| {
            let mut e = e.clone();
            e.mode = control::member_mode(e.mode, e.kind == walk::EntryKind::Directory);
            tar.append(&e)
        })
    })?;
    // The data member: dpkg-deb's own walk, symlinks last.
    let data_skip = Some(OsStr::new("DEBIAN"));
    let mut out = member(out, &format!("data.tar{ext}"), opts, |tar| {
        walk::walk(root, data_skip, walk::Order::SymlinksLast, &mut |e| {
            tar.append(e)
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
    fill: impl FnOnce(&mut TarWriter<FirstChunk<Out<'a>>>) -> Result<()>,
) -> Result<Out<'a>> {
    let sde = opts.source_date_epoch;
    out.write_all(&ar::member_header(name, sde, None)?)?;
    let header_at = out.stream_position()? - ar::HEADER_LEN;
    let mut tar = TarWriter::new(FirstChunk::new(out, opts), sde);
    fill(&mut tar).with_context(|| format!("building {name}"))?;
    let (sink, _) = tar.finish()?;
    let mut out = sink
        .finish()
        .with_context(|| format!("cannot finish compressing {name}"))?;
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
}
