//! A streaming tar reader for inspection: yields each entry's decoded header,
//! its raw 512-byte header block(s) and a reader over its data, one entry at
//! a time, never holding file contents in memory.
//!
//! It understands the encodings Debian packages use: GNU (`ustar  \0`, with
//! `././@LongLink` `L`/`K` entries for long names), POSIX ustar (with the
//! name prefix field) and pax extended headers (`x`; global `g` ones are
//! recorded). Header checksums are verified; a bad one is an error naming the
//! offset. What it does not own: decompression and the ar container
//! (`debreader`), and comparing entries (`diff`).
use std::io::{self, Read};

use anyhow::{bail, Context, Result};

/// Largest GNU long name / pax header accepted (hostile archives).
const MAX_META: u64 = 1 << 20;

/// The kind of a tar entry, from its type flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    File,
    Hardlink,
    Symlink,
    Char,
    Block,
    Dir,
    Fifo,
    Other(u8),
}

impl Kind {
    fn from_flag(flag: u8) -> Kind {
        match flag {
            b'0' | 0 | b'7' => Kind::File,
            b'1' => Kind::Hardlink,
            b'2' => Kind::Symlink,
            b'3' => Kind::Char,
            b'4' => Kind::Block,
            b'5' => Kind::Dir,
            b'6' => Kind::Fifo,
            other => Kind::Other(other),
        }
    }

    /// Whether data blocks follow the header (as tar and Python's tarfile
    /// decide: regular files and unknown types).
    fn has_data(self) -> bool {
        matches!(self, Kind::File | Kind::Other(_))
    }

    pub(crate) fn name(self) -> String {
        match self {
            Kind::File => "file".into(),
            Kind::Hardlink => "hardlink".into(),
            Kind::Symlink => "symlink".into(),
            Kind::Char => "char device".into(),
            Kind::Block => "block device".into(),
            Kind::Dir => "directory".into(),
            Kind::Fifo => "fifo".into(),
            Kind::Other(f) => format!("type {:?}", f as char),
        }
    }
}

/// One tar entry's header, decoded, plus how it was encoded.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Position in the archive (0-based, counting real entries only).
    pub index: usize,
    pub path: String,
    pub kind: Kind,
    /// Permission bits including setuid/setgid/sticky (the mode field & 0o7777).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub uname: String,
    pub gname: String,
    pub size: u64,
    pub mtime: u64,
    pub link: Option<String>,
    pub devmajor: u64,
    pub devminor: u64,
    /// The entry's own 512-byte header block.
    pub header: Box<[u8; 512]>,
    /// How the header was encoded: "gnu", "ustar", "v7" or "unknown magic".
    pub format: &'static str,
    /// Extension records that applied to this entry, in order:
    /// "gnu-longname", "gnu-longlink", "pax path=…" etc.
    pub extensions: Vec<String>,
}

/// Totals for the whole tar stream, known at its end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Trailer {
    /// Length of the tar stream in bytes.
    pub length: u64,
    /// Zero blocks after the last entry (end-of-archive marker and padding).
    pub zero_blocks: u64,
    /// Non-zero bytes found after the end-of-archive marker.
    pub garbage_after_end: bool,
    /// Global pax headers, in order.
    pub global_pax: Vec<String>,
}

/// The tar header's fields: name, byte range. Used to report raw encoding
/// differences field by field.
pub(crate) const FIELDS: &[(&str, usize, usize)] = &[
    ("name", 0, 100),
    ("mode", 100, 108),
    ("uid", 108, 116),
    ("gid", 116, 124),
    ("size", 124, 136),
    ("mtime", 136, 148),
    ("chksum", 148, 156),
    ("typeflag", 156, 157),
    ("linkname", 157, 257),
    ("magic", 257, 263),
    ("version", 263, 265),
    ("uname", 265, 297),
    ("gname", 297, 329),
    ("devmajor", 329, 337),
    ("devminor", 337, 345),
    ("prefix/gnu-extra", 345, 500),
    ("padding", 500, 512),
];

/// A reader that counts the bytes it has passed on.
struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// Read a whole 512-byte block; Ok(false) at a clean end of stream.
fn read_block<R: Read>(r: &mut R, block: &mut [u8; 512]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < 512 {
        match r.read(&mut block[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "truncated tar block",
                ))
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Parse a numeric header field: octal text (leading spaces/NULs allowed,
/// terminated by NUL or space) or GNU base-256 (high bit of the first byte).
fn parse_num(field: &[u8], what: &str, offset: u64) -> Result<u64> {
    if let Some(&first) = field.first() {
        if first & 0x80 != 0 {
            if first & 0x40 != 0 {
                bail!("tar header at offset {offset}: negative base-256 {what}");
            }
            let mut v: u64 = u64::from(first & 0x3f);
            for &b in &field[1..] {
                v = v
                    .checked_mul(256)
                    .and_then(|v| v.checked_add(u64::from(b)))
                    .with_context(|| format!("tar header at offset {offset}: {what} overflows"))?;
            }
            return Ok(v);
        }
    }
    let text: Vec<u8> = field
        .iter()
        .copied()
        .skip_while(|&b| b == b' ' || b == 0)
        .take_while(|&b| b != 0 && b != b' ')
        .collect();
    if text.is_empty() {
        return Ok(0);
    }
    let s = std::str::from_utf8(&text)
        .ok()
        .filter(|s| s.bytes().all(|b| (b'0'..=b'7').contains(&b)));
    match s {
        Some(s) => u64::from_str_radix(s, 8)
            .with_context(|| format!("tar header at offset {offset}: {what} {s:?} out of range")),
        None => bail!(
            "tar header at offset {offset}: {what} field {:?} is not octal",
            String::from_utf8_lossy(field)
        ),
    }
}

/// A NUL-terminated string field, lossily decoded (tar names are bytes).
fn cstr(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Verify the header checksum (unsigned sum, checksum field as spaces;
/// the signed sum is accepted too, as GNU tar does).
fn check_checksum(block: &[u8; 512], offset: u64) -> Result<()> {
    let stored = parse_num(&block[148..156], "checksum", offset)?;
    let mut unsigned: u64 = 0;
    let mut signed: i64 = 0;
    for (i, &b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += u64::from(b);
        signed += i64::from(b as i8);
    }
    if stored != unsigned && i64::try_from(stored).ok() != Some(signed) {
        bail!(
            "corrupt tar header at offset {offset}: checksum field says {stored:o}, header sums to {unsigned:o}"
        );
    }
    Ok(())
}

/// Read a metadata payload (long name, pax records) of `size` bytes plus padding.
fn read_meta<R: Read>(r: &mut R, size: u64, what: &str, offset: u64) -> Result<Vec<u8>> {
    if size > MAX_META {
        bail!("tar {what} at offset {offset} declares {size} bytes (limit {MAX_META})");
    }
    let mut buf = vec![0u8; size as usize];
    r.read_exact(&mut buf)
        .with_context(|| format!("reading tar {what} at offset {offset}"))?;
    skip_padding(r, size).with_context(|| format!("reading tar {what} at offset {offset}"))?;
    Ok(buf)
}

fn skip_padding<R: Read>(r: &mut R, size: u64) -> io::Result<()> {
    let pad = (512 - size % 512) % 512;
    let copied = io::copy(&mut r.by_ref().take(pad), &mut io::sink())?;
    if copied != pad {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "truncated tar padding",
        ));
    }
    Ok(())
}

/// Parse pax records `"<len> key=value\n"`.
fn parse_pax(data: &[u8], offset: u64) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if rest.iter().all(|&b| b == 0) {
            break;
        }
        let sp = rest
            .iter()
            .position(|&b| b == b' ')
            .with_context(|| format!("malformed pax header at offset {offset}"))?;
        let len: usize = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|s| s.parse().ok())
            .filter(|&l: &usize| l > sp + 1 && l <= rest.len())
            .with_context(|| format!("malformed pax record length at offset {offset}"))?;
        let record = &rest[sp + 1..len];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        let eq = record
            .iter()
            .position(|&b| b == b'=')
            .with_context(|| format!("malformed pax record at offset {offset}"))?;
        out.push((
            String::from_utf8_lossy(&record[..eq]).into_owned(),
            String::from_utf8_lossy(&record[eq + 1..]).into_owned(),
        ));
        rest = &rest[len..];
    }
    Ok(out)
}

/// Stream a tar archive: call `each` for every entry with its header and a
/// reader over exactly its data (what the callback leaves unread is skipped).
/// Returns the trailer summary. Errors name the byte offset in the tar.
pub(crate) fn for_each_entry<R: Read>(
    reader: R,
    mut each: impl FnMut(&Entry, &mut dyn Read) -> Result<()>,
) -> Result<Trailer> {
    let mut r = Counting {
        inner: reader,
        count: 0,
    };
    let mut block = [0u8; 512];
    let mut index = 0usize;
    let mut long_name: Option<String> = None;
    let mut long_link: Option<String> = None;
    let mut pax: Vec<(String, String)> = Vec::new();
    let mut extensions: Vec<String> = Vec::new();
    let mut trailer = Trailer::default();
    loop {
        let offset = r.count;
        if !read_block(&mut r, &mut block).with_context(|| format!("tar at offset {offset}"))? {
            if index == 0 && offset == 0 {
                bail!("empty tar stream");
            }
            bail!("tar stream ends at offset {offset} without an end-of-archive marker");
        }
        if block.iter().all(|&b| b == 0) {
            trailer.zero_blocks = 1;
            loop {
                let at = r.count;
                match read_block(&mut r, &mut block) {
                    Ok(true) if block.iter().all(|&b| b == 0) => trailer.zero_blocks += 1,
                    Ok(true) => {
                        trailer.garbage_after_end = true;
                        let rest = io::copy(&mut r, &mut io::sink())
                            .with_context(|| format!("tar after end marker at offset {at}"))?;
                        let _ = rest;
                        break;
                    }
                    Ok(false) => break,
                    Err(_) => {
                        trailer.garbage_after_end = true;
                        io::copy(&mut r, &mut io::sink()).ok();
                        break;
                    }
                }
            }
            trailer.length = r.count;
            return Ok(trailer);
        }
        check_checksum(&block, offset)?;
        let flag = block[156];
        let size = parse_num(&block[124..136], "size", offset)?;
        match flag {
            b'L' => {
                let data = read_meta(&mut r, size, "GNU long name", offset)?;
                long_name = Some(cstr(&data));
                extensions.push("gnu-longname".into());
                continue;
            }
            b'K' => {
                let data = read_meta(&mut r, size, "GNU long link", offset)?;
                long_link = Some(cstr(&data));
                extensions.push("gnu-longlink".into());
                continue;
            }
            b'x' => {
                let data = read_meta(&mut r, size, "pax header", offset)?;
                for (k, v) in parse_pax(&data, offset)? {
                    extensions.push(format!("pax {k}={v}"));
                    pax.push((k, v));
                }
                continue;
            }
            b'g' => {
                let data = read_meta(&mut r, size, "pax global header", offset)?;
                for (k, v) in parse_pax(&data, offset)? {
                    trailer.global_pax.push(format!("{k}={v}"));
                }
                continue;
            }
            _ => {}
        }
        let magic = &block[257..265];
        let format = if magic == b"ustar  \0" {
            "gnu"
        } else if &magic[..6] == b"ustar\0" {
            "ustar"
        } else if magic.iter().all(|&b| b == 0) {
            "v7"
        } else {
            "unknown magic"
        };
        let mut path = cstr(&block[0..100]);
        if format == "ustar" && block[345] != 0 {
            path = format!("{}/{}", cstr(&block[345..500]), path);
        }
        let kind = Kind::from_flag(flag);
        let mut link = match kind {
            Kind::Symlink | Kind::Hardlink => Some(cstr(&block[157..257])),
            _ => None,
        };
        let raw_mode = parse_num(&block[100..108], "mode", offset)?;
        let mut entry = Entry {
            index,
            path,
            kind,
            mode: (raw_mode & 0o7777) as u32,
            uid: parse_num(&block[108..116], "uid", offset)?,
            gid: parse_num(&block[116..124], "gid", offset)?,
            uname: cstr(&block[265..297]),
            gname: cstr(&block[297..329]),
            size,
            mtime: parse_num(&block[136..148], "mtime", offset)?,
            link: None,
            devmajor: if format == "v7" {
                0
            } else {
                parse_num(&block[329..337], "devmajor", offset)?
            },
            devminor: if format == "v7" {
                0
            } else {
                parse_num(&block[337..345], "devminor", offset)?
            },
            header: Box::new(block),
            format,
            extensions: std::mem::take(&mut extensions),
        };
        if let Some(n) = long_name.take() {
            entry.path = n;
        }
        if let Some(l) = long_link.take() {
            link = Some(l);
        }
        for (k, v) in pax.drain(..) {
            match k.as_str() {
                "path" => entry.path = v,
                "linkpath" => link = Some(v),
                "size" => {
                    entry.size = v
                        .parse()
                        .with_context(|| format!("pax size {v:?} at offset {offset}"))?
                }
                "mtime" => {
                    let whole = v.split('.').next().unwrap_or("");
                    entry.mtime = whole
                        .parse()
                        .with_context(|| format!("pax mtime {v:?} at offset {offset}"))?;
                }
                "uid" => entry.uid = v.parse().with_context(|| format!("pax uid {v:?}"))?,
                "gid" => entry.gid = v.parse().with_context(|| format!("pax gid {v:?}"))?,
                "uname" => entry.uname = v,
                "gname" => entry.gname = v,
                _ => {}
            }
        }
        entry.link = link;
        let data_len = if kind.has_data() { entry.size } else { 0 };
        {
            let mut data = r.by_ref().take(data_len);
            each(&entry, &mut data)
                .with_context(|| format!("tar entry {:?} at offset {offset}", entry.path))?;
            let left = io::copy(&mut data, &mut io::sink())
                .with_context(|| format!("reading data of tar entry {:?}", entry.path))?;
            let _ = left;
            if data.limit() != 0 {
                bail!(
                    "tar entry {:?} at offset {offset}: data truncated ({} of {} bytes missing)",
                    entry.path,
                    data.limit(),
                    data_len
                );
            }
        }
        skip_padding(&mut r, data_len)
            .with_context(|| format!("tar entry {:?} at offset {offset}: padding", entry.path))?;
        index += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, flag: u8, size: u64, magic: &[u8; 8]) -> [u8; 512] {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..108].copy_from_slice(b"0000644\0");
        h[108..116].copy_from_slice(b"0000000\0");
        h[116..124].copy_from_slice(b"0000000\0");
        h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
        h[136..148].copy_from_slice(b"14524770400\0");
        h[156] = flag;
        h[257..265].copy_from_slice(magic);
        h[265..269].copy_from_slice(b"root");
        h[297..301].copy_from_slice(b"root");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        h
    }

    fn archive(parts: &[(&[u8; 512], &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (h, data) in parts {
            out.extend_from_slice(&h[..]);
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.resize(out.len() + 1024, 0);
        out
    }

    #[test]
    fn reads_gnu_longname_and_data() {
        let long = format!("./{}", "d/".repeat(60) + "file.txt");
        let l = header("././@LongLink", b'L', long.len() as u64 + 1, b"ustar  \0");
        let mut name = long.clone().into_bytes();
        name.push(0);
        let f = header(&long[..100], b'0', 5, b"ustar  \0");
        let bytes = archive(&[(&l, &name), (&f, b"hello")]);
        let mut seen = Vec::new();
        let t = for_each_entry(&bytes[..], |e, r| {
            let mut s = String::new();
            r.read_to_string(&mut s)?;
            seen.push((e.path.clone(), e.format, e.extensions.clone(), s));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0, long);
        assert_eq!(seen[0].1, "gnu");
        assert_eq!(seen[0].2, vec!["gnu-longname".to_string()]);
        assert_eq!(seen[0].3, "hello");
        assert_eq!(t.zero_blocks, 2);
        assert_eq!(t.length, bytes.len() as u64);
    }

    #[test]
    fn bad_checksum_is_an_error_with_offset() {
        let mut f = header("./a", b'0', 0, b"ustar  \0");
        f[0] = b'X';
        let bytes = archive(&[(&f, b"")]);
        let err = for_each_entry(&bytes[..], |_, _| Ok(())).unwrap_err();
        assert!(format!("{err:#}").contains("offset 0"), "{err:#}");
    }

    #[test]
    fn truncated_data_is_an_error() {
        let f = header("./a", b'0', 5000, b"ustar  \0");
        let mut bytes = f.to_vec();
        bytes.extend_from_slice(b"short");
        let err = for_each_entry(&bytes[..], |_, _| Ok(())).unwrap_err();
        assert!(format!("{err:#}").contains("./a"), "{err:#}");
    }

    #[test]
    fn pax_path_applies() {
        let rec = "16 path=./pax/x\n";
        let x = header("./PaxHeaders/x", b'x', rec.len() as u64, b"ustar\x0000");
        let f = header("./x", b'0', 0, b"ustar\x0000");
        let bytes = archive(&[(&x, rec.as_bytes()), (&f, b"")]);
        let mut paths = Vec::new();
        for_each_entry(&bytes[..], |e, _| {
            paths.push((e.path.clone(), e.format));
            Ok(())
        })
        .unwrap();
        assert_eq!(paths, vec![("./pax/x".to_string(), "ustar")]);
    }

    #[test]
    fn huge_long_name_refused() {
        let l = header("././@LongLink", b'L', MAX_META + 1, b"ustar  \0");
        let bytes = archive(&[(&l, b"")]);
        let err = for_each_entry(&bytes[..], |_, _| Ok(())).unwrap_err();
        assert!(format!("{err:#}").contains("limit"), "{err:#}");
    }

    #[test]
    fn base256_numbers() {
        let mut f = [0u8; 12];
        f[0] = 0x80;
        f[11] = 5;
        assert_eq!(parse_num(&f, "size", 0).unwrap(), 5);
        assert_eq!(parse_num(b"0000644\0", "mode", 0).unwrap(), 0o644);
        assert_eq!(parse_num(b"   644 \0", "mode", 0).unwrap(), 0o644);
        assert!(parse_num(b"00009\0\0\0", "mode", 0).is_err());
    }
}
