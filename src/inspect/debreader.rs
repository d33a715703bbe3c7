//! A streaming reader of any .deb: the ar container with each member's raw
//! header, then control.tar and data.tar decompressed on the fly (xz, zstd,
//! gzip or none), handing every tar entry with its raw header and a reader
//! over its data to a callback. Nothing is held in memory beyond one entry's
//! header; the caller decides what to keep (hashes, small files).
//!
//! What it does not own: tar header parsing (`tarstream`), comparing
//! packages (`diff`).
use std::io::{self, BufReader, Read};
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::tarstream::{self, Entry, Trailer};
use crate::deb::Compression;
use crate::encoding::Hashing;

/// Which tar inside the package an entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Part {
    Control,
    Data,
}

impl Part {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Part::Control => "control.tar",
            Part::Data => "data.tar",
        }
    }
}

/// A member's compression is the builder's `crate::deb::Compression`, read
/// from its name's suffix; the reports name it as `-Z` takes it.
impl Compression {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
            Compression::Gzip => "gzip",
            Compression::None => "none",
        }
    }
}

/// One ar member: its raw header, the decoded fields and a hash of its bytes.
#[derive(Debug, Clone)]
pub(crate) struct ArMember {
    pub index: usize,
    pub name: String,
    pub header: [u8; 60],
    pub mtime: u64,
    pub uid: u64,
    pub gid: u64,
    pub mode: u32,
    pub size: u64,
    /// sha256 of the member's bytes (compressed, as stored).
    pub sha256: String,
    /// The padding byte after an odd-sized member, if any.
    pub padding: Option<u8>,
}

/// The ar header fields: name, byte range (for raw comparisons).
pub(crate) const AR_FIELDS: &[(&str, usize, usize)] = &[
    ("name", 0, 16),
    ("mtime", 16, 28),
    ("uid", 28, 34),
    ("gid", 34, 40),
    ("mode", 40, 48),
    ("size", 48, 58),
    ("fmag", 58, 60),
];

/// What was found in control.tar or data.tar as a whole.
#[derive(Debug, Clone)]
pub(crate) struct TarMember {
    pub part: Part,
    pub member: String,
    pub codec: Compression,
    /// sha256 and length of the uncompressed tar stream.
    pub tar_sha256: String,
    pub tar_length: u64,
    pub trailer: Trailer,
    /// Compressed bytes left after the compressed stream ended.
    pub trailing_compressed: u64,
}

/// Everything about a .deb except the per-entry data handed to the callback.
#[derive(Debug, Clone)]
pub(crate) struct DebSummary {
    pub sha256: String,
    pub size: u64,
    pub members: Vec<ArMember>,
    pub tars: Vec<TarMember>,
    /// Contents of `debian-binary` (tiny; capped at 64 bytes).
    pub debian_binary: Vec<u8>,
}

fn ascii_num(field: &[u8], radix: u32, what: &str, offset: u64) -> Result<u64> {
    let s = std::str::from_utf8(field)
        .ok()
        .map(|s| s.trim_end_matches(' '))
        .filter(|s| !s.is_empty())
        .with_context(|| {
            format!(
                "corrupt ar header at offset {offset}: {what} field {:?}",
                String::from_utf8_lossy(field)
            )
        })?;
    u64::from_str_radix(s, radix)
        .with_context(|| format!("corrupt ar header at offset {offset}: {what} field {s:?}"))
}

fn codec_of(name: &str, base: &str) -> Result<Compression> {
    let ext = &name[base.len()..];
    [
        Compression::None,
        Compression::Xz,
        Compression::Zstd,
        Compression::Gzip,
    ]
    .into_iter()
    .find(|c| c.extension() == ext)
    .with_context(|| {
        format!("ar member {name}: compression {ext:?} is not supported (xz, zst, gz or none)")
    })
}

fn decompressor<'a, R: Read + 'a>(codec: Compression, r: R) -> Result<Box<dyn Read + 'a>> {
    Ok(match codec {
        Compression::Xz => Box::new(xz2::read::XzDecoder::new_multi_decoder(r)),
        Compression::Zstd => {
            Box::new(zstd::stream::read::Decoder::new(r).context("starting zstd decoder")?)
        }
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(r)),
        Compression::None => Box::new(r),
    })
}

/// Read a .deb from a stream. `visit` sees every tar entry of control.tar
/// and data.tar in archive order with a reader over its data.
pub(crate) fn read_deb<R: Read>(
    reader: R,
    mut visit: impl FnMut(Part, &Entry, &mut dyn Read) -> Result<()>,
) -> Result<DebSummary> {
    let mut r = Hashing::new(reader);
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)
        .context("not a Debian package: too short for an ar archive")?;
    if &magic != b"!<arch>\n" {
        bail!(
            "not a Debian package: no ar magic (found {:?})",
            String::from_utf8_lossy(&magic)
        );
    }
    let mut members = Vec::new();
    let mut tars = Vec::new();
    let mut debian_binary = Vec::new();
    loop {
        let offset = r.count();
        let mut header = [0u8; 60];
        let mut got = 0;
        while got < 60 {
            let n = r
                .read(&mut header[got..])
                .with_context(|| format!("reading ar header at offset {offset}"))?;
            if n == 0 {
                break;
            }
            got += n;
        }
        if got == 0 {
            break;
        }
        if got < 60 {
            bail!("truncated ar header at offset {offset} ({got} of 60 bytes)");
        }
        if &header[58..60] != b"`\n" {
            bail!(
                "corrupt ar header at offset {offset}: bad terminator {:?}",
                String::from_utf8_lossy(&header[58..60])
            );
        }
        let raw_name = String::from_utf8_lossy(&header[0..16]).into_owned();
        let name = raw_name.trim_end_matches(' ');
        let name = name.strip_suffix('/').unwrap_or(name).to_string();
        let size = ascii_num(&header[48..58], 10, "size", offset)?;
        let index = members.len();
        let mut member = ArMember {
            index,
            name: name.clone(),
            header,
            mtime: ascii_num(&header[16..28], 10, "mtime", offset)?,
            uid: ascii_num(&header[28..34], 10, "uid", offset)?,
            gid: ascii_num(&header[34..40], 10, "gid", offset)?,
            mode: ascii_num(&header[40..48], 8, "mode", offset)? as u32,
            size,
            sha256: String::new(),
            padding: None,
        };
        if index == 0 && name != "debian-binary" {
            bail!("not a Debian package: first ar member is {name:?}, not debian-binary");
        }
        let mut body = Hashing::new(r.by_ref().take(size));
        let part = if name.starts_with("control.tar") {
            Some((Part::Control, codec_of(&name, "control.tar")?))
        } else if name.starts_with("data.tar") {
            Some((Part::Data, codec_of(&name, "data.tar")?))
        } else {
            None
        };
        if name == "debian-binary" {
            body.by_ref()
                .take(64)
                .read_to_end(&mut debian_binary)
                .context("reading debian-binary")?;
        }
        if let Some((part, codec)) = part {
            let what = format!("ar member {name} (offset {offset})");
            // Buffer the decompressed stream: the tar reader asks for 512 bytes at a time.
            let mut tar = Hashing::new(io::BufReader::with_capacity(
                1 << 16,
                decompressor(codec, &mut body).with_context(|| what.clone())?,
            ));
            let trailer = tarstream::for_each_entry(&mut tar, |e, data| visit(part, e, data))
                .with_context(|| format!("{what}, {} decompressed", codec.name()))?;
            // Whatever the decompressor still yields is past the tar's end.
            io::copy(&mut tar, &mut io::sink())
                .with_context(|| format!("{what}: decompressing ({})", codec.name()))?;
            let (tar_sha256, tar_length) = tar.finish_hex();
            let trailing_compressed =
                io::copy(&mut body, &mut io::sink()).with_context(|| format!("reading {what}"))?;
            tars.push(TarMember {
                part,
                member: name.clone(),
                codec,
                tar_sha256,
                tar_length,
                trailer,
                trailing_compressed,
            });
        }
        io::copy(&mut body, &mut io::sink())
            .with_context(|| format!("reading ar member {name}"))?;
        let (sha, got) = body.finish_hex();
        if got != size {
            bail!("truncated ar member {name} at offset {offset}: header says {size} bytes, file has {got}");
        }
        member.sha256 = sha;
        if size % 2 == 1 {
            let mut pad = [0u8; 1];
            match r.read(&mut pad) {
                Ok(1) => member.padding = Some(pad[0]),
                Ok(_) => {}
                Err(e) => return Err(e).context("reading ar padding"),
            }
        }
        members.push(member);
    }
    if members.is_empty() {
        bail!("not a Debian package: empty ar archive");
    }
    for part in [Part::Control, Part::Data] {
        if !tars.iter().any(|t| t.part == part) {
            bail!("not a Debian package: no {} member", part.name());
        }
    }
    let (sha256, size) = r.finish_hex();
    Ok(DebSummary {
        sha256,
        size,
        members,
        tars,
        debian_binary,
    })
}

/// Read a .deb file; errors name the file.
pub(crate) fn read_deb_file(
    path: &Path,
    visit: impl FnMut(Part, &Entry, &mut dyn Read) -> Result<()>,
) -> Result<DebSummary> {
    // A regular file (never a FIFO or a device to block on); streamed, so
    // no size cap.
    let (f, _) = crate::input::open_regular(path, "package", u64::MAX)?;
    read_deb(BufReader::with_capacity(1 << 16, f), visit)
        .with_context(|| format!("reading {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_ar() {
        let err = read_deb(&b"hello world, not a deb"[..], |_, _, _| Ok(())).unwrap_err();
        assert!(format!("{err:#}").contains("no ar magic"), "{err:#}");
        let err = read_deb(&b"!<arch>\n"[..], |_, _, _| Ok(())).unwrap_err();
        assert!(format!("{err:#}").contains("empty ar archive"), "{err:#}");
    }

    #[test]
    fn rejects_bad_member_header() {
        let mut deb = b"!<arch>\n".to_vec();
        deb.extend_from_slice(b"debian-binary   0           0     0     100644  4         XX");
        let err = read_deb(&deb[..], |_, _, _| Ok(())).unwrap_err();
        assert!(format!("{err:#}").contains("bad terminator"), "{err:#}");
    }

    /// A small real package made by dpkg-deb, for mutation.
    fn sample_deb(z: &str) -> Vec<u8> {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("p");
        std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
        std::fs::create_dir_all(root.join("usr/share/x")).unwrap();
        std::fs::write(
            root.join("DEBIAN/control"),
            "Package: x\nVersion: 1\nArchitecture: all\nMaintainer: a <a@b.c>\nDescription: x\n",
        )
        .unwrap();
        std::fs::write(root.join("usr/share/x/a"), "hello\n".repeat(50)).unwrap();
        let long = root.join("usr/share/x").join("l".repeat(120));
        std::fs::write(long, "long").unwrap();
        let out = d.path().join("x.deb");
        let st = std::process::Command::new("dpkg-deb")
            .args(["--root-owner-group", &format!("-Z{z}"), "--build"])
            .arg(&root)
            .arg(&out)
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .output()
            .unwrap();
        assert!(st.status.success());
        std::fs::read(out).unwrap()
    }

    #[test]
    fn reads_every_compression() {
        for z in ["xz", "zstd", "gzip", "none"] {
            let deb = sample_deb(z);
            let mut paths = Vec::new();
            let s = read_deb(&deb[..], |part, e, _| {
                paths.push((part, e.path.clone()));
                Ok(())
            })
            .unwrap();
            assert_eq!(s.size, deb.len() as u64);
            assert_eq!(s.debian_binary, b"2.0\n");
            assert!(
                paths.contains(&(Part::Control, "./control".into())),
                "{z}: {paths:?}"
            );
            assert!(
                paths.contains(&(Part::Data, format!("./usr/share/x/{}", "l".repeat(120)))),
                "{z}"
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 200, .. Default::default() })]
        /// Mutated or truncated packages give an error or a result, never a panic.
        #[test]
        fn mutated_packages_never_panic(
            which in 0usize..4,
            flips in proptest::collection::vec((0usize..100_000, 0u8..=255), 1..4),
            cut in proptest::option::of(0usize..100_000),
        ) {
            thread_local! {
                static DEBS: Vec<Vec<u8>> = ["xz", "zstd", "gzip", "none"].iter().map(|z| sample_deb(z)).collect();
            }
            let mut deb = DEBS.with(|d| d[which].clone());
            for (at, b) in flips {
                let n = deb.len();
                deb[at % n] ^= b.max(1);
            }
            if let Some(c) = cut {
                let n = deb.len();
                deb.truncate(c % n);
            }
            let _ = read_deb(&deb[..], |_, _, r| {
                std::io::copy(r, &mut std::io::sink())?;
                Ok(())
            });
        }
    }
}
