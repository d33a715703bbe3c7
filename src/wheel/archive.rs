//! Safe, streaming reading of a wheel's zip container.
//!
//! A small zip reader written for one purpose: accept only what a wheel
//! needs and refuse everything an attacker could use to make two readers see
//! different files. It checks:
//!
//! - the end-of-central-directory record sits exactly at the end of the file
//!   (no zip comment, no trailing bytes), one disk, Zip64 only where needed
//!   (the Zip64 end record only when a count, size or offset does not fit,
//!   central Zip64 fields only for values marked 0xFFFFFFFF, local ones
//!   repeating the header's sizes exactly);
//! - extra fields: only known ones of their exact size, each at most once,
//!   filling the block (no hidden bytes, as for comments; see `parse_extra`);
//! - every central-directory entry: stored or deflate only, no encryption,
//!   no entry comment; the name is valid UTF-8, relative, without `..`, `.`,
//!   empty components, backslashes, drive letters, `:`, NUL or control
//!   characters; no duplicate names, also after NFC normalization and case
//!   folding; no name both a file and a directory; no symlink, device or
//!   FIFO entries;
//! - the entries tile the file: the first starts at offset 0, each local
//!   header agrees with its central-directory entry (flags, method, name,
//!   CRC, sizes), each entry's data (plus its data descriptor, if flagged)
//!   ends exactly where the next entry starts, the last ends where the
//!   central directory starts: no bytes outside the entries;
//! - while reading: never more than the declared uncompressed size, exactly
//!   the declared sizes and CRC-32 at the end, the deflate stream ends exactly
//!   at the declared compressed size, and the sum of declared sizes is capped.
//!
//! [`WheelArchive::stream`] reads the whole file once, front to back, hashing
//! it (sha256) as it goes, and hands each entry's bytes to a callback while
//! checking them against an expected hash (RECORD) that is verified when the
//! entry's reader reaches its end: the reader returns an error instead of
//! end-of-file when the bytes do not match, so a copy loop fails before it
//! completes. The installer uses the same call, so a wheel swapped between
//! verification and installation is caught.
//!
//! All structural problems are `crate::exit::VerificationError`s naming the
//! wheel, the entry, what was expected and what was found.
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Take};
use std::path::{Path, PathBuf};

use crate::encoding::Hashing;
use anyhow::{Context, Result};
use unicode_normalization::UnicodeNormalization;

use crate::exit::verification;
use crate::wheel::record::{hex, HashValue};

const SIG_LOCAL: u32 = 0x0403_4b50;
const SIG_CENTRAL: u32 = 0x0201_4b50;
const SIG_EOCD: u32 = 0x0605_4b50;
const SIG_EOCD64: u32 = 0x0606_4b50;
const SIG_LOCATOR64: u32 = 0x0706_4b50;
const SIG_DESCRIPTOR: u32 = 0x0807_4b50;

/// Largest central directory accepted (a hostile size must not make us
/// allocate gigabytes).
const MAX_CENTRAL_DIRECTORY: u64 = 64 << 20;
/// Most entries accepted (the largest real wheels have tens of thousands);
/// keeps the index's memory bounded whatever the archive declares.
const MAX_ENTRIES: u64 = 500_000;
/// Default cap on the sum of uncompressed sizes: 4 GiB.
pub const DEFAULT_MAX_UNCOMPRESSED: u64 = 4 << 30;

const FLAG_ENCRYPTED: u16 = 1;
const FLAG_DESCRIPTOR: u16 = 1 << 3;
const FLAG_STRONG_ENCRYPTION: u16 = 1 << 6;
const FLAG_MASKED_HEADERS: u16 = 1 << 13;
const FLAG_UTF8: u16 = 1 << 11;

/// Compression method of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Stored,
    Deflated,
}

/// One entry, as the central directory declares it (and as checked).
#[derive(Debug, Clone)]
pub struct Entry {
    /// The validated name (`/`-separated, relative; directories end in `/`).
    pub name: String,
    /// Everything else the central directory says of it.
    pub at: EntryAt,
}

/// An [`Entry`] without its name: fixed-size, no heap of its own, for a
/// plan that keeps tens of thousands of entries (`venv::deferred`, in a
/// scratch file: [`EntryAt::encode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryAt {
    pub method: Method,
    pub crc32: u32,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    /// Permission bits when the entry was made on Unix (`None` otherwise).
    pub unix_mode: Option<u32>,
    pub is_dir: bool,
    flags: u16,
    local_offset: u64,
    /// Where the next entry (or the central directory) starts.
    end_offset: u64,
}

impl EntryAt {
    /// The length of [`EntryAt::encode`]'s bytes.
    pub(crate) const ENCODED_LEN: usize = 45;

    /// Append the fields, little-endian, [`EntryAt::ENCODED_LEN`] bytes.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.push(match self.method {
            Method::Stored => 0,
            Method::Deflated => 1,
        });
        out.extend_from_slice(&self.crc32.to_le_bytes());
        out.extend_from_slice(&self.compressed_size.to_le_bytes());
        out.extend_from_slice(&self.uncompressed_size.to_le_bytes());
        out.push(u8::from(self.unix_mode.is_some()));
        out.extend_from_slice(&self.unix_mode.unwrap_or(0).to_le_bytes());
        out.push(u8::from(self.is_dir));
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.local_offset.to_le_bytes());
        out.extend_from_slice(&self.end_offset.to_le_bytes());
    }

    /// Read back what [`EntryAt::encode`] wrote (an unknown method or flag
    /// is an error).
    pub(crate) fn decode(f: &mut crate::spill::Fields) -> Result<EntryAt> {
        let method = match f.u8()? {
            0 => Method::Stored,
            1 => Method::Deflated,
            n => anyhow::bail!("compression method {n} is neither 0 nor 1"),
        };
        let crc32 = f.u32()?;
        let compressed_size = f.u64()?;
        let uncompressed_size = f.u64()?;
        let has_mode = f.flag()?;
        let mode = f.u32()?;
        let is_dir = f.flag()?;
        let flags = f.u16()?;
        let local_offset = f.u64()?;
        let end_offset = f.u64()?;
        Ok(EntryAt {
            method,
            crc32,
            compressed_size,
            uncompressed_size,
            unix_mode: has_mode.then_some(mode),
            is_dir,
            flags,
            local_offset,
            end_offset,
        })
    }

    /// The entry again, with its name.
    pub(crate) fn named(self, name: String) -> Entry {
        Entry { name, at: self }
    }
}

impl Entry {
    /// The entry's name, and the rest of it ([`EntryAt::named`] joins
    /// them again).
    pub(crate) fn split(self) -> (String, EntryAt) {
        (self.name, self.at)
    }

    /// Whether the entry should be executable (any `x` bit, as pip does).
    pub fn is_executable(&self) -> bool {
        self.at.unix_mode.is_some_and(|m| m & 0o111 != 0)
    }
}

/// What the caller expects an entry's bytes to be (from RECORD).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expected {
    pub hash: HashValue,
    pub size: u64,
}

/// The outcome of a full streaming pass.
#[derive(Debug, Clone)]
pub(crate) struct StreamSummary {
    /// sha256 of the whole file, as read during the pass.
    pub sha256: [u8; 32],
    /// Size of the file in bytes.
    pub file_size: u64,
    /// Sum of the entries' uncompressed sizes.
    pub uncompressed_size: u64,
}

/// An open wheel whose central directory has been read and checked.
pub(crate) struct WheelArchive {
    path: PathBuf,
    file: File,
    file_len: u64,
    entries: Vec<Entry>,
    cd_offset: u64,
    /// The bytes from the central directory to the end of the file.
    tail: Vec<u8>,
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn le64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Check one entry name and return it as a string, or say what is wrong.
pub(crate) fn validate_name(raw: &[u8]) -> std::result::Result<String, String> {
    let name = std::str::from_utf8(raw).map_err(|_| {
        format!(
            "entry name {:?} is not valid UTF-8",
            String::from_utf8_lossy(raw)
        )
    })?;
    if name.is_empty() {
        return Err("empty entry name".into());
    }
    if name.contains('\0') {
        return Err(format!("entry name {name:?} contains NUL"));
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(format!("entry name {name:?} contains a control character"));
    }
    if name.contains('\\') {
        return Err(format!("entry name {name:?} contains a backslash"));
    }
    if name.starts_with('/') {
        return Err(format!("entry name {name:?} is an absolute path"));
    }
    let b = name.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err(format!("entry name {name:?} starts with a drive letter"));
    }
    if name.contains(':') {
        return Err(format!("entry name {name:?} contains ':'"));
    }
    let body = name.strip_suffix('/').unwrap_or(name);
    for comp in body.split('/') {
        match comp {
            "" => return Err(format!("entry name {name:?} has an empty path component")),
            "." | ".." => return Err(format!("entry name {name:?} contains a {comp:?} component")),
            _ => {}
        }
    }
    Ok(name.to_string())
}

/// The key two names collide under: NFC, then lowercase, without a trailing `/`.
fn fold_key(name: &str) -> String {
    if name.is_ascii() {
        // ASCII is its own NFC, and its lowercase is ASCII's: the same
        // key without the Unicode tables (nearly every entry name).
        return name.trim_end_matches('/').to_ascii_lowercase();
    }
    let n: String = name.trim_end_matches('/').nfc().collect();
    n.to_lowercase().nfc().collect()
}

/// Which header an extra-field block belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Header {
    Central,
    Local,
}

/// Parse an extra-field block and return the Zip64 values it provides for
/// `[uncompressed, compressed, offset]`. `sizes32` are the header's 32-bit
/// fields (the offset is 0 in a local header), `disk_marker` whether the
/// central header's disk number is 0xFFFF.
///
/// "No hidden bytes", as for zip comments: only fields with a known meaning
/// and their exact size are accepted — Zip64 (0x0001), extended timestamp
/// (0x5455), Info-ZIP Unix uid/gid (0x7875) and NTFS times (0x000a) — each
/// at most once, filling the block exactly. Info-ZIP's Unicode path and
/// comment fields (0x7075, 0x6375) are refused: they rename the entry for
/// other readers.
///
/// Zip64 only where needed: in the central directory the field must be
/// there exactly when a size or the offset is 0xFFFFFFFF (or the disk
/// 0xFFFF), holding those values and nothing else. In a local header the
/// field holds both sizes (APPNOTE 4.5.3); a size that is not 0xFFFFFFFF
/// must then be repeated exactly (real wheels carry such redundant fields:
/// protobuf's, and Python's zipfile with `force_zip64`), never a different
/// value another reader could take.
fn parse_extra(
    extra: &[u8],
    header: Header,
    sizes32: [u32; 3],
    disk_marker: bool,
) -> std::result::Result<[Option<u64>; 3], String> {
    let mut i = 0;
    let mut out = [None; 3];
    let mut seen: Vec<u16> = Vec::new();
    let need = sizes32.map(|v| v == 0xFFFF_FFFF);
    let mut zip64 = false;
    while i < extra.len() {
        if i + 4 > extra.len() {
            return Err(format!(
                "{} bytes after the last extra field: expected none",
                extra.len() - i
            ));
        }
        let id = le16(extra, i);
        let len = le16(extra, i + 2) as usize;
        let data = extra
            .get(i + 4..i + 4 + len)
            .ok_or_else(|| format!("extra field {id:#06x} overruns its block"))?;
        if seen.contains(&id) {
            return Err(format!("extra field {id:#06x} twice: expected at most one"));
        }
        seen.push(id);
        let bad_size = || {
            format!(
                "extra field {id:#06x} of {len} bytes: not the size its kind has (no hidden bytes)"
            )
        };
        match id {
            0x7075 | 0x6375 => {
                return Err(format!(
                    "extra field {id:#06x} (Info-ZIP Unicode path/comment) would rename the entry for other readers: expected none"
                ))
            }
            0x0001 => {
                zip64 = true;
                match header {
                    Header::Central => {
                        let n = need.iter().filter(|x| **x).count();
                        if n == 0 && !disk_marker {
                            return Err(
                                "Zip64 extra field although no size or offset needs it (Zip64 only where needed)"
                                    .into(),
                            );
                        }
                        if len != 8 * n + if disk_marker { 4 } else { 0 } {
                            return Err(format!(
                                "Zip64 extra field of {len} bytes: expected {} for the {n} values marked 0xFFFFFFFF",
                                8 * n + if disk_marker { 4 } else { 0 }
                            ));
                        }
                        let mut j = 0;
                        for (k, needed) in need.iter().enumerate() {
                            if *needed {
                                out[k] = Some(le64(data, j));
                                j += 8;
                            }
                        }
                        if disk_marker && le32(data, j) != 0 {
                            return Err(format!(
                                "starts on disk {} (Zip64): expected 0",
                                le32(data, j)
                            ));
                        }
                    }
                    Header::Local => {
                        if len != 16 {
                            return Err(format!(
                                "Zip64 extra field of {len} bytes in a local header: expected 16 (both sizes)"
                            ));
                        }
                        for k in 0..2 {
                            let v = le64(data, 8 * k);
                            if !need[k] && v != u64::from(sizes32[k]) {
                                return Err(format!(
                                    "Zip64 extra field says {} bytes {}, the header {}: expected the same value",
                                    v,
                                    ["uncompressed", "compressed"][k],
                                    sizes32[k]
                                ));
                            }
                            out[k] = Some(v);
                        }
                    }
                }
            }
            0x5455 => {
                // Extended timestamp: flags, then the times they announce
                // (the central copy carries at most the modification time).
                let flags = *data.first().ok_or_else(bad_size)?;
                if flags & !7 != 0 {
                    return Err(bad_size());
                }
                let times = match header {
                    Header::Local => (flags & 7).count_ones() as usize,
                    Header::Central => usize::from(flags & 1),
                };
                if len != 1 + 4 * times {
                    return Err(bad_size());
                }
            }
            0x7875 => {
                // Info-ZIP Unix: version 1, uid size, uid, gid size, gid
                // (empty in the central directory).
                if !(len == 0 && header == Header::Central) {
                    let ok = data.len() >= 3 && data[0] == 1 && {
                        let us = data[1] as usize;
                        us <= 8
                            && data.len() > 2 + us
                            && (data[2 + us] as usize) <= 8
                            && len == 3 + us + data[2 + us] as usize
                    };
                    if !ok {
                        return Err(bad_size());
                    }
                }
            }
            0x000a => {
                // NTFS: 4 reserved bytes, attribute 1 of 24 bytes (3 times).
                if len != 32 || le16(data, 4) != 1 || le16(data, 6) != 24 {
                    return Err(bad_size());
                }
            }
            _ => {
                return Err(format!(
                    "extra field {id:#06x} of {len} bytes: unknown, expected only Zip64, extended timestamp, Info-ZIP Unix or NTFS fields (no hidden bytes)"
                ))
            }
        }
        i += 4 + len;
    }
    if !zip64 {
        if disk_marker {
            return Err("disk number 0xFFFF without a Zip64 extra field".into());
        }
        if let Some(k) = (0..3).find(|k| need[*k] && (header == Header::Central || *k < 2)) {
            let what = ["size", "compressed size", "offset"][k];
            return Err(format!("{what} 0xFFFFFFFF without a Zip64 extra field"));
        }
    }
    Ok(out)
}

impl WheelArchive {
    /// Open a wheel and check its central directory. `max_uncompressed`
    /// caps the sum of the declared uncompressed sizes.
    pub(crate) fn open(path: &Path, max_uncompressed: u64) -> Result<WheelArchive> {
        let mut file =
            File::open(path).with_context(|| format!("opening wheel {}", path.display()))?;
        let file_len = file
            .metadata()
            .with_context(|| format!("reading the size of {}", path.display()))?
            .len();
        let p = path.display().to_string();
        let bad = |msg: String| verification(format!("{p}: {msg}"));
        if file_len < 22 {
            return Err(bad(format!(
                "not a zip archive: expected at least 22 bytes, found {file_len}"
            )));
        }
        let mut eocd = [0u8; 22];
        file.seek(SeekFrom::Start(file_len - 22))?;
        file.read_exact(&mut eocd)
            .with_context(|| format!("reading {p}"))?;
        if le32(&eocd, 0) != SIG_EOCD {
            return Err(bad(
                "expected the end-of-central-directory record in the last 22 bytes, found none (trailing data, a zip comment, or not a zip)".into(),
            ));
        }
        if le16(&eocd, 20) != 0 {
            return Err(bad("zip comment present: expected none".into()));
        }
        let mut disk = u32::from(le16(&eocd, 4));
        let mut cd_disk = u32::from(le16(&eocd, 6));
        let mut n_disk = u64::from(le16(&eocd, 8));
        let mut n_total = u64::from(le16(&eocd, 10));
        let mut cd_size = u64::from(le32(&eocd, 12));
        let mut cd_offset = u64::from(le32(&eocd, 16));
        let mut cd_end = file_len - 22;
        let zip64 = n_disk == 0xFFFF
            || n_total == 0xFFFF
            || cd_size == 0xFFFF_FFFF
            || cd_offset == 0xFFFF_FFFF;
        if zip64 {
            if file_len < 22 + 20 + 56 {
                return Err(bad("Zip64 markers but no room for Zip64 records".into()));
            }
            let mut loc = [0u8; 20];
            file.seek(SeekFrom::Start(file_len - 42))?;
            file.read_exact(&mut loc)?;
            if le32(&loc, 0) != SIG_LOCATOR64 || le32(&loc, 4) != 0 || le32(&loc, 16) != 1 {
                return Err(bad(
                    "expected a Zip64 end-of-central-directory locator before the end record, found none".into(),
                ));
            }
            let rec_off = le64(&loc, 8);
            if rec_off.checked_add(56) != Some(file_len - 42) {
                return Err(bad(format!(
                    "Zip64 end record expected at offset {}, declared at {rec_off}",
                    file_len - 42 - 56
                )));
            }
            let mut rec = [0u8; 56];
            file.seek(SeekFrom::Start(rec_off))?;
            file.read_exact(&mut rec)?;
            if le32(&rec, 0) != SIG_EOCD64 || le64(&rec, 4) != 44 {
                return Err(bad("malformed Zip64 end-of-central-directory record".into()));
            }
            // Zip64 only where needed: each field of the end record must
            // be the Zip64 value, or its maximum when the value does not
            // fit (as zip writers fill it), so the record is there because
            // a value needs it and no two readers see different values.
            let fields = [
                ("entries on this disk", n_disk, le64(&rec, 24), 0xFFFF),
                ("entries", n_total, le64(&rec, 32), 0xFFFF),
                (
                    "central directory size",
                    cd_size,
                    le64(&rec, 40),
                    0xFFFF_FFFF,
                ),
                (
                    "central directory offset",
                    cd_offset,
                    le64(&rec, 48),
                    0xFFFF_FFFF,
                ),
            ];
            for (what, short, long, max) in fields {
                if short != long.min(max) {
                    return Err(bad(format!(
                        "the end record's {what} is {short:#x}, its Zip64 record's {long}: expected {:#x} (Zip64 only where needed)",
                        long.min(max)
                    )));
                }
            }
            disk = le32(&rec, 16);
            cd_disk = le32(&rec, 20);
            n_disk = le64(&rec, 24);
            n_total = le64(&rec, 32);
            cd_size = le64(&rec, 40);
            cd_offset = le64(&rec, 48);
            cd_end = rec_off;
        }
        if disk != 0 || cd_disk != 0 || n_disk != n_total {
            return Err(bad("multi-disk archive: expected a single disk".into()));
        }
        if cd_offset.checked_add(cd_size) != Some(cd_end) {
            return Err(bad(format!(
                "central directory declared at {cd_offset}+{cd_size}, expected to end at {cd_end} (data between the central directory and its end record)"
            )));
        }
        if cd_size > MAX_CENTRAL_DIRECTORY {
            return Err(bad(format!(
                "central directory of {cd_size} bytes: more than the {MAX_CENTRAL_DIRECTORY}-byte limit"
            )));
        }
        if n_total > MAX_ENTRIES {
            return Err(bad(format!(
                "declares {n_total} entries: more than the limit of {MAX_ENTRIES}"
            )));
        }
        if n_total > cd_size / 46 {
            return Err(bad(format!(
                "declares {n_total} entries in a {cd_size}-byte central directory"
            )));
        }
        let mut tail = vec![0u8; (file_len - cd_offset) as usize];
        file.seek(SeekFrom::Start(cd_offset))?;
        file.read_exact(&mut tail)
            .with_context(|| format!("reading the central directory of {p}"))?;
        let cd = &tail[..cd_size as usize];
        let mut entries = Vec::with_capacity(n_total as usize);
        let mut i = 0usize;
        for k in 0..n_total {
            if i + 46 > cd.len() || le32(cd, i) != SIG_CENTRAL {
                return Err(bad(format!(
                    "central directory entry {k}: expected a header at offset {}, found none",
                    cd_offset + i as u64
                )));
            }
            let h = &cd[i..i + 46];
            let made_by = le16(h, 4);
            let flags = le16(h, 8);
            let method = le16(h, 10);
            let crc32 = le32(h, 16);
            let csize32 = le32(h, 20);
            let usize32 = le32(h, 24);
            let nlen = le16(h, 28) as usize;
            let xlen = le16(h, 30) as usize;
            let clen = le16(h, 32) as usize;
            let disk_start = le16(h, 34);
            let ext_attr = le32(h, 38);
            let off32 = le32(h, 42);
            let var = cd.get(i + 46..i + 46 + nlen + xlen + clen).ok_or_else(|| {
                bad(format!(
                    "central directory entry {k} overruns the directory"
                ))
            })?;
            let extra = &var[nlen..nlen + xlen];
            i += 46 + nlen + xlen + clen;
            // The name is exactly its bytes (valid UTF-8, unchanged).
            let name = validate_name(&var[..nlen]).map_err(bad)?;
            let en = |msg: String| bad(format!("{name}: {msg}"));
            if flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION | FLAG_MASKED_HEADERS) != 0 {
                return Err(en("encrypted entry: expected no encryption".into()));
            }
            let method = match method {
                0 => Method::Stored,
                8 => Method::Deflated,
                m => {
                    return Err(en(format!(
                        "compression method {m}: expected 0 (stored) or 8 (deflate)"
                    )))
                }
            };
            if clen != 0 {
                return Err(en("entry comment present: expected none".into()));
            }
            if disk_start != 0 && disk_start != 0xFFFF {
                return Err(en(format!("starts on disk {disk_start}: expected 0")));
            }
            let [u64_, c64, o64] = parse_extra(
                extra,
                Header::Central,
                [usize32, csize32, off32],
                disk_start == 0xFFFF,
            )
            .map_err(en)?;
            let uncompressed_size = u64_.unwrap_or(u64::from(usize32));
            let compressed_size = c64.unwrap_or(u64::from(csize32));
            let local_offset = o64.unwrap_or(u64::from(off32));
            let is_dir = name.ends_with('/');
            // The mode bits, whatever host the entry claims: pip reads them
            // regardless (and so would an extractor honouring symlinks).
            let _ = made_by;
            let mode = ext_attr >> 16;
            let unix_mode = if mode != 0 {
                match mode & 0o170000 {
                    0 | 0o100000 => {}
                    0o040000 if is_dir => {}
                    0o040000 => return Err(en("directory mode on a file name".into())),
                    0o120000 => {
                        return Err(en("symbolic link entry: expected regular files only".into()))
                    }
                    t => {
                        return Err(en(format!(
                            "special file type {t:o}: expected regular files only"
                        )))
                    }
                }
                Some(mode & 0o7777)
            } else {
                None
            };
            if !name.is_ascii() && flags & FLAG_UTF8 == 0 {
                return Err(en(
                    "non-ASCII name without the UTF-8 flag (other readers decode it as CP437)"
                        .into(),
                ));
            }
            if is_dir && uncompressed_size != 0 {
                return Err(en(format!(
                    "directory entry with {uncompressed_size} bytes of content"
                )));
            }
            if method == Method::Stored && compressed_size != uncompressed_size {
                return Err(en(format!(
                    "stored entry: compressed size {compressed_size} differs from size {uncompressed_size}"
                )));
            }
            entries.push(Entry {
                name,
                at: EntryAt {
                    method,
                    crc32,
                    compressed_size,
                    uncompressed_size,
                    unix_mode,
                    is_dir,
                    flags,
                    local_offset,
                    end_offset: 0,
                },
            });
        }
        if i != cd.len() {
            return Err(bad(format!(
                "central directory has {} bytes after its {n_total} entries: expected none",
                cd.len() - i
            )));
        }
        // Names: duplicates (also folded) and file/directory conflicts.
        let mut folded: BTreeMap<String, &str> = BTreeMap::new();
        let mut files = BTreeSet::new();
        for e in &entries {
            if let Some(prev) = folded.insert(fold_key(&e.name), &e.name) {
                return Err(bad(if prev == e.name {
                    format!("duplicate entry {:?}", e.name)
                } else {
                    format!(
                        "entries {prev:?} and {:?} collide after case folding and Unicode normalization",
                        e.name
                    )
                }));
            }
            if !e.at.is_dir {
                files.insert(fold_key(&e.name));
            }
        }
        for e in &entries {
            let key = fold_key(&e.name);
            let mut prefix = key.as_str();
            while let Some((parent, _)) = prefix.rsplit_once('/') {
                if files.contains(parent) {
                    return Err(bad(format!(
                        "entry {:?} is inside {parent:?}, which is a file",
                        e.name
                    )));
                }
                prefix = parent;
            }
        }
        let total: u64 = entries
            .iter()
            .try_fold(0u64, |a, e| a.checked_add(e.at.uncompressed_size))
            .unwrap_or(u64::MAX);
        if total > max_uncompressed {
            return Err(bad(format!(
                "declares {total} bytes uncompressed: more than the limit of {max_uncompressed}"
            )));
        }
        // Layout: sorted by offset, first at 0, strictly increasing.
        entries.sort_by_key(|e| e.at.local_offset);
        let mut expected_start = 0u64;
        for idx in 0..entries.len() {
            let off = entries[idx].at.local_offset;
            if idx == 0 && off != 0 {
                return Err(bad(format!(
                    "first entry {:?} at offset {off}: expected 0 (data before the first entry)",
                    entries[0].name
                )));
            }
            if idx > 0 && off <= expected_start {
                return Err(bad(format!(
                    "entries {:?} and {:?} overlap",
                    entries[idx - 1].name,
                    entries[idx].name
                )));
            }
            expected_start = off;
            let next = entries
                .get(idx + 1)
                .map_or(cd_offset, |n| n.at.local_offset);
            if next <= off {
                return Err(bad(format!(
                    "entry {:?} at offset {off} is not before the next entry or the central directory at {next}",
                    entries[idx].name
                )));
            }
            entries[idx].at.end_offset = next;
        }
        if entries.is_empty() && cd_offset != 0 {
            return Err(bad(format!(
                "{cd_offset} bytes before the central directory of an empty archive"
            )));
        }
        Ok(WheelArchive {
            path: path.to_path_buf(),
            file,
            file_len,
            entries,
            cd_offset,
            tail,
        })
    }

    /// Entries in archive order.
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Read one (small) entry by name, with random access, all checks
    /// applied except the whole-file tiling (which `stream` does). Entries
    /// larger than `limit` bytes are refused.
    pub(crate) fn read_entry(&mut self, name: &str, limit: u64) -> Result<Vec<u8>> {
        let p = self.path.display().to_string();
        let entry = self
            .entries
            .iter()
            .find(|e| e.name == name)
            .cloned()
            .ok_or_else(|| verification(format!("{p}: expected an entry {name:?}, found none")))?;
        if entry.at.uncompressed_size > limit {
            return Err(verification(format!(
                "{p}: {name}: {} bytes, more than the {limit}-byte limit for this file",
                entry.at.uncompressed_size
            )));
        }
        self.file.seek(SeekFrom::Start(entry.at.local_offset))?;
        let mut r = BufReader::new(&mut self.file);
        let mut pos = entry.at.local_offset;
        read_local_header(&mut r, &entry, &mut pos)
            .map_err(|m| verification(format!("{p}: {m}")))?;
        let mut out = Vec::with_capacity(entry.at.uncompressed_size as usize);
        let fail = RefCell::new(None);
        {
            let mut er = EntryReader::new(&mut r, &entry, None, &fail);
            let res = er.read_to_end(&mut out);
            if let Some(m) = fail.borrow_mut().take() {
                return Err(verification(format!("{p}: {m}")));
            }
            res.with_context(|| format!("reading {name} in {p}"))?;
            er.finish().map_err(|m| verification(format!("{p}: {m}")))?;
        }
        Ok(out)
    }

    /// Stream entry `index` with random access (a seek to its local
    /// header, checked against the central directory): `f` gets a reader of
    /// its bytes, which fails at its end on a size, CRC or `expected`
    /// mismatch, as in [`stream`](Self::stream); what `f` leaves unread is
    /// read and checked after it returns. Any mismatch is a
    /// `VerificationError` naming the wheel and the entry.
    pub(crate) fn with_entry<T>(
        &mut self,
        index: usize,
        expected: Option<Expected>,
        f: impl FnOnce(&Entry, &mut dyn Read) -> Result<T>,
    ) -> Result<T> {
        let entry = self.entries.get(index).cloned().ok_or_else(|| {
            verification(format!(
                "{}: expected an entry #{index}, found none",
                self.path.display()
            ))
        })?;
        read_entry_at(&mut self.file, &self.path, &entry, expected, f)
    }

    /// Read the whole file once, front to back, checking the layout, and
    /// call `f` for each entry (in archive order) with a reader of its bytes.
    /// `expect` says what each entry's bytes must hash to (or `Ok(None)` for
    /// none, or an error to refuse the entry). Whatever `f` leaves unread is
    /// read and checked after it returns. A mismatch makes the entry's reader
    /// fail at its end and the whole call return a `VerificationError`.
    #[cfg(test)]
    pub(crate) fn stream<E, F>(self, expect: E, f: F) -> Result<StreamSummary>
    where
        E: FnMut(&Entry) -> Result<Option<Expected>>,
        F: FnMut(&Entry, &mut dyn Read) -> Result<()>,
    {
        self.stream_some(expect, |_| true, f)
    }

    /// [`stream`](Self::stream), inflating and checking only the entries
    /// `inflate` selects: the others' compressed bytes are read (and
    /// hashed with the whole file, and the layout checked) but neither
    /// inflated nor checked against `expect`'s hash; `expect` is still
    /// called for every entry (to refuse one), and `f` only for the
    /// inflated ones.
    pub(crate) fn stream_some<E, I, F>(
        mut self,
        mut expect: E,
        inflate: I,
        mut f: F,
    ) -> Result<StreamSummary>
    where
        E: FnMut(&Entry) -> Result<Option<Expected>>,
        I: Fn(&Entry) -> bool,
        F: FnMut(&Entry, &mut dyn Read) -> Result<()>,
    {
        let p = self.path.display().to_string();
        self.file.seek(SeekFrom::Start(0))?;
        let mut r = BufReader::with_capacity(256 << 10, Hashing::new(&mut self.file));
        let mut pos = 0u64;
        let mut total = 0u64;
        for entry in &self.entries {
            if pos != entry.at.local_offset {
                return Err(verification(format!(
                    "{p}: {}: expected the entry at offset {pos}, found it at {} (data outside the entries)",
                    entry.name, entry.at.local_offset
                )));
            }
            let expected = expect(entry)?;
            read_local_header(&mut r, entry, &mut pos)
                .map_err(|m| verification(format!("{p}: {m}")))?;
            if !inflate(entry) {
                let n = io::copy(
                    &mut (&mut r).take(entry.at.compressed_size),
                    &mut io::sink(),
                )
                .with_context(|| format!("reading {p}"))?;
                if n != entry.at.compressed_size {
                    return Err(verification(format!(
                        "{p}: {}: expected {} compressed bytes, found {n} (file truncated)",
                        entry.name, entry.at.compressed_size
                    )));
                }
                pos += n;
                total += entry.at.uncompressed_size;
                read_descriptor(&mut r, entry, &mut pos)
                    .map_err(|m| verification(format!("{p}: {m}")))?;
                continue;
            }
            let fail = RefCell::new(None);
            let mut er = EntryReader::new(&mut r, entry, expected, &fail);
            let res = f(entry, &mut er);
            // The reader's own verdict comes first: a callback error caused
            // by a mismatch must be reported as the mismatch.
            if let Some(m) = fail.borrow_mut().take() {
                return Err(verification(format!("{p}: {m}")));
            }
            res.with_context(|| format!("{p}: {}", entry.name))?;
            let drained = io::copy(&mut er, &mut io::sink());
            if let Some(m) = fail.borrow_mut().take() {
                return Err(verification(format!("{p}: {m}")));
            }
            drained.map_err(|e| verification(format!("{p}: {}: {e}", entry.name)))?;
            let used = er.finish().map_err(|m| verification(format!("{p}: {m}")))?;
            pos += used;
            total += entry.at.uncompressed_size;
            read_descriptor(&mut r, entry, &mut pos)
                .map_err(|m| verification(format!("{p}: {m}")))?;
        }
        if pos != self.cd_offset {
            return Err(verification(format!(
                "{p}: expected the central directory at offset {pos}, found it at {} (data outside the entries)",
                self.cd_offset
            )));
        }
        // The rest must be exactly the central directory read at open.
        let mut rest = Vec::with_capacity(self.tail.len());
        (&mut r)
            .take(self.tail.len() as u64 + 1)
            .read_to_end(&mut rest)
            .with_context(|| format!("reading {p}"))?;
        if rest != self.tail {
            return Err(verification(format!(
                "{p}: the central directory changed while reading (file modified?): expected {} bytes as read at open, found {} different bytes",
                self.tail.len(),
                rest.len()
            )));
        }
        let (sha256, _, _) = r.into_inner().finish();
        Ok(StreamSummary {
            sha256,
            file_size: self.file_len,
            uncompressed_size: total,
        })
    }
}

fn read_exact_or(r: &mut impl Read, buf: &mut [u8], what: &str) -> std::result::Result<(), String> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            format!("{what}: file truncated")
        } else {
            format!("{what}: {e}")
        }
    })
}

/// [`WheelArchive::with_entry`] for an `entry` of the wheel at `path`
/// (open as `file`) that an earlier [`WheelArchive::open`] read and checked:
/// a seek to its local header, which must agree with `entry`, then its bytes,
/// checked as they are read (sizes, CRC-32, `expected`). The build's reading
/// threads keep the entries they need, not each wheel's central directory.
pub(crate) fn read_entry_at<T>(
    file: &mut File,
    path: &Path,
    entry: &Entry,
    expected: Option<Expected>,
    f: impl FnOnce(&Entry, &mut dyn Read) -> Result<T>,
) -> Result<T> {
    let p = path.display().to_string();
    file.seek(SeekFrom::Start(entry.at.local_offset))
        .with_context(|| format!("{p}: seeking to {}", entry.name))?;
    let mut r = BufReader::with_capacity(64 << 10, file);
    let mut pos = entry.at.local_offset;
    read_local_header(&mut r, entry, &mut pos).map_err(|m| verification(format!("{p}: {m}")))?;
    let fail = RefCell::new(None);
    let mut er = EntryReader::new(&mut r, entry, expected, &fail);
    let res = f(entry, &mut er);
    if let Some(m) = fail.borrow_mut().take() {
        return Err(verification(format!("{p}: {m}")));
    }
    let out = res.with_context(|| format!("{p}: {}", entry.name))?;
    let drained = io::copy(&mut er, &mut io::sink());
    if let Some(m) = fail.borrow_mut().take() {
        return Err(verification(format!("{p}: {m}")));
    }
    drained.map_err(|e| verification(format!("{p}: {}: {e}", entry.name)))?;
    er.finish().map_err(|m| verification(format!("{p}: {m}")))?;
    Ok(out)
}

/// Read and check the local header of `entry` at the reader's position.
fn read_local_header<R: BufRead>(
    r: &mut R,
    entry: &Entry,
    pos: &mut u64,
) -> std::result::Result<(), String> {
    let n = &entry.name;
    let mut h = [0u8; 30];
    read_exact_or(r, &mut h, &format!("{n}: local header"))?;
    if le32(&h, 0) != SIG_LOCAL {
        return Err(format!(
            "{n}: expected a local header at offset {}, found none",
            entry.at.local_offset
        ));
    }
    let flags = le16(&h, 6);
    let method = le16(&h, 8);
    let crc = le32(&h, 14);
    let csize32 = le32(&h, 18);
    let usize32 = le32(&h, 22);
    let nlen = le16(&h, 26) as usize;
    let xlen = le16(&h, 28) as usize;
    let mut var = vec![0u8; nlen + xlen];
    read_exact_or(r, &mut var, &format!("{n}: local header"))?;
    let (lname, extra) = var.split_at(nlen);
    if lname != entry.name.as_bytes() {
        return Err(format!(
            "{n}: local header names {:?}, central directory {n:?}",
            String::from_utf8_lossy(lname)
        ));
    }
    if flags != entry.at.flags {
        return Err(format!(
            "{n}: local header flags {flags:#06x}, central directory {:#06x}",
            entry.at.flags
        ));
    }
    let cd_method = match entry.at.method {
        Method::Stored => 0,
        Method::Deflated => 8,
    };
    if method != cd_method {
        return Err(format!(
            "{n}: local header method {method}, central directory {cd_method}"
        ));
    }
    let [u64_, c64, _] = parse_extra(extra, Header::Local, [usize32, csize32, 0], false)
        .map_err(|m| format!("{n}: local header: {m}"))?;
    let lu = u64_.unwrap_or(u64::from(usize32));
    let lc = c64.unwrap_or(u64::from(csize32));
    let agrees =
        crc == entry.at.crc32 && lu == entry.at.uncompressed_size && lc == entry.at.compressed_size;
    let zero = crc == 0 && lu == 0 && lc == 0;
    if !(agrees || (flags & FLAG_DESCRIPTOR != 0 && zero)) {
        return Err(format!(
            "{n}: local header declares crc {crc:08x}, {lc} compressed, {lu} bytes; central directory {:08x}, {}, {}",
            entry.at.crc32, entry.at.compressed_size, entry.at.uncompressed_size
        ));
    }
    *pos += 30 + (nlen + xlen) as u64;
    let data_end = pos
        .checked_add(entry.at.compressed_size)
        .unwrap_or(u64::MAX);
    if data_end > entry.at.end_offset {
        return Err(format!(
            "{n}: data runs to offset {data_end}, past the next entry at {}",
            entry.at.end_offset
        ));
    }
    if entry.at.flags & FLAG_DESCRIPTOR == 0 && data_end != entry.at.end_offset {
        return Err(format!(
            "{n}: {} bytes between the entry's data and the next entry: expected none",
            entry.at.end_offset - data_end
        ));
    }
    Ok(())
}

/// Read and check the data descriptor (if the entry has one).
fn read_descriptor<R: BufRead>(
    r: &mut R,
    entry: &Entry,
    pos: &mut u64,
) -> std::result::Result<(), String> {
    let n = &entry.name;
    let len = entry.at.end_offset - *pos;
    if entry.at.flags & FLAG_DESCRIPTOR == 0 {
        return if len == 0 {
            Ok(())
        } else {
            Err(format!(
                "{n}: {len} bytes after the entry's data: expected none"
            ))
        };
    }
    if !matches!(len, 12 | 16 | 20 | 24) {
        return Err(format!(
            "{n}: {len} bytes after the data: expected a 12-24 byte data descriptor"
        ));
    }
    let mut d = vec![0u8; len as usize];
    read_exact_or(r, &mut d, &format!("{n}: data descriptor"))?;
    let b = if len == 16 || len == 24 {
        if le32(&d, 0) != SIG_DESCRIPTOR {
            return Err(format!("{n}: malformed data descriptor"));
        }
        &d[4..]
    } else {
        &d[..]
    };
    let (crc, c, u) = if b.len() == 12 {
        (le32(b, 0), u64::from(le32(b, 4)), u64::from(le32(b, 8)))
    } else {
        (le32(b, 0), le64(b, 4), le64(b, 12))
    };
    if crc != entry.at.crc32 || c != entry.at.compressed_size || u != entry.at.uncompressed_size {
        return Err(format!(
            "{n}: data descriptor declares crc {crc:08x}, {c} compressed, {u} bytes; central directory {:08x}, {}, {}",
            entry.at.crc32, entry.at.compressed_size, entry.at.uncompressed_size
        ));
    }
    *pos += len;
    Ok(())
}

enum Source<'a, R: BufRead> {
    Stored(Take<&'a mut R>),
    Deflated(super::inflate::Inflater<Take<&'a mut R>>),
}

/// Reader of one entry's uncompressed bytes that enforces its declared size
/// and CRC and (optionally) an expected hash; on a mismatch it stores the
/// message in `fail` and returns an error instead of end-of-file.
struct EntryReader<'a, 'f, R: BufRead> {
    src: Source<'a, R>,
    entry: &'a Entry,
    expected: Option<(Expected, crate::wheel::record::Hasher)>,
    crc: super::inflate::Crc32,
    read: u64,
    done: bool,
    fail: &'f RefCell<Option<String>>,
}

impl<'a, 'f, R: BufRead> EntryReader<'a, 'f, R> {
    fn new(
        r: &'a mut R,
        entry: &'a Entry,
        expected: Option<Expected>,
        fail: &'f RefCell<Option<String>>,
    ) -> Self {
        let take = r.take(entry.at.compressed_size);
        let src = match entry.at.method {
            Method::Stored => Source::Stored(take),
            Method::Deflated => Source::Deflated(super::inflate::Inflater::new(take)),
        };
        let expected = expected.map(|e| {
            let h = e.hash.algorithm.hasher();
            (e, h)
        });
        EntryReader {
            src,
            entry,
            expected,
            crc: super::inflate::Crc32::default(),
            read: 0,
            done: false,
            fail,
        }
    }

    fn fail(&self, msg: String) -> io::Error {
        *self.fail.borrow_mut() = Some(msg.clone());
        io::Error::new(io::ErrorKind::InvalidData, msg)
    }

    /// At end of data: sizes, CRC, expected hash.
    fn check_end(&mut self) -> io::Result<()> {
        let n = &self.entry.name;
        if self.read != self.entry.at.uncompressed_size {
            return Err(self.fail(format!(
                "{n}: expected {} bytes as declared, found {}",
                self.entry.at.uncompressed_size, self.read
            )));
        }
        let crc = self.crc.sum();
        if crc != self.entry.at.crc32 {
            return Err(self.fail(format!(
                "{n}: CRC-32 expected {:08x}, found {crc:08x}",
                self.entry.at.crc32
            )));
        }
        if let Some((exp, hasher)) = self.expected.take() {
            let found = hasher.finish();
            if found != exp.hash.digest || self.read != exp.size {
                return Err(self.fail(format!(
                    "{n}: RECORD expected {} ({} bytes), found {}:{} ({} bytes)",
                    exp.hash,
                    exp.size,
                    exp.hash.algorithm.name(),
                    hex(&found),
                    self.read
                )));
            }
        }
        Ok(())
    }

    /// After end of data: the compressed bytes consumed, all of them.
    fn finish(self) -> std::result::Result<u64, String> {
        if !self.done {
            return Err(format!("{}: entry not read to its end", self.entry.name));
        }
        let left = match &self.src {
            Source::Stored(t) => t.limit(),
            Source::Deflated(d) => d.get_ref().limit(),
        };
        if left != 0 {
            return Err(format!(
                "{}: {left} bytes after the end of the deflate stream, inside the declared compressed size",
                self.entry.name
            ));
        }
        Ok(self.entry.at.compressed_size)
    }
}

impl<R: BufRead> Read for EntryReader<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if let Some(m) = self.fail.borrow().as_ref() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, m.clone()));
        }
        // Ask for at most one byte more than declared, to notice excess.
        let room = self.entry.at.uncompressed_size - self.read + 1;
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let res = match &mut self.src {
            Source::Stored(t) => t.read(&mut buf[..want]),
            Source::Deflated(d) => d.read(&mut buf[..want]),
        };
        let n = match res {
            Ok(n) => n,
            Err(e) => {
                let msg = if e.kind() == io::ErrorKind::UnexpectedEof {
                    format!("{}: compressed data truncated", self.entry.name)
                } else {
                    format!("{}: corrupt compressed data ({e})", self.entry.name)
                };
                return Err(self.fail(msg));
            }
        };
        if n == 0 {
            if let Source::Stored(t) = &self.src {
                if t.limit() != 0 {
                    return Err(self.fail(format!("{}: file truncated", self.entry.name)));
                }
            }
            self.check_end()?;
            self.done = true;
            return Ok(0);
        }
        self.read += n as u64;
        if self.read > self.entry.at.uncompressed_size {
            return Err(self.fail(format!(
                "{}: more than the declared {} bytes",
                self.entry.name, self.entry.at.uncompressed_size
            )));
        }
        self.crc.update(&buf[..n]);
        if let Some((_, h)) = &mut self.expected {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};

    /// A small valid zip (stored, deflated, a directory), made with the zip crate.
    fn sample_zip() -> Vec<u8> {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        let deflated = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        w.add_directory("pkg/", stored).unwrap();
        w.start_file("pkg/a.py", stored).unwrap();
        w.write_all(b"print('a')\n").unwrap();
        w.start_file("pkg/b.txt", deflated).unwrap();
        w.write_all(&b"hello world ".repeat(50)).unwrap();
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn an_entry_without_its_name_is_encoded_and_decoded_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.whl");
        std::fs::write(&path, sample_zip()).unwrap();
        let a = WheelArchive::open(&path, 1 << 20).unwrap();
        let mut seen = BTreeSet::new();
        for e in a.entries() {
            let (_, at) = e.clone().split();
            let without_mode = EntryAt {
                unix_mode: None,
                ..at
            };
            for at in [at, without_mode] {
                seen.insert((at.method == Method::Stored, at.unix_mode.is_some()));
                let mut bytes = Vec::new();
                at.encode(&mut bytes);
                assert_eq!(bytes.len(), EntryAt::ENCODED_LEN);
                let mut f = crate::spill::Fields::new(&bytes);
                assert_eq!(EntryAt::decode(&mut f).unwrap(), at);
                f.end().unwrap();
                // An unknown method, or a flag that is not 0 or 1.
                for (i, bad) in [(0, 2), (21, 7), (26, 2)] {
                    let mut b = bytes.clone();
                    b[i] = bad;
                    assert!(EntryAt::decode(&mut crate::spill::Fields::new(&b)).is_err());
                }
            }
        }
        assert_eq!(seen.len(), 4);
    }

    #[test]
    fn reads_and_streams_a_valid_zip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.whl");
        let bytes = sample_zip();
        std::fs::write(&path, &bytes).unwrap();
        let mut a = WheelArchive::open(&path, 1 << 20).unwrap();
        assert_eq!(a.entries().len(), 3);
        assert_eq!(a.read_entry("pkg/a.py", 100).unwrap(), b"print('a')\n");
        assert!(a.read_entry("pkg/b.txt", 10).is_err());
        let mut seen = Vec::new();
        let s = a
            .stream(
                |_| Ok(None),
                |e, r| {
                    let mut v = Vec::new();
                    r.read_to_end(&mut v)?;
                    seen.push((e.name.clone(), v.len()));
                    Ok(())
                },
            )
            .unwrap();
        assert_eq!(s.sha256, <[u8; 32]>::from(Sha256::digest(&bytes)));
        assert_eq!(seen[2], ("pkg/b.txt".to_string(), 600));
        // A wrong expectation fails at the entry's end.
        let a = WheelArchive::open(&path, 1 << 20).unwrap();
        let err = a
            .stream(
                |e| {
                    Ok((e.name == "pkg/a.py").then(|| Expected {
                        hash: HashValue {
                            algorithm: crate::wheel::record::HashAlgorithm::Sha256,
                            digest: vec![0; 32],
                        },
                        size: 11,
                    }))
                },
                |_, _| Ok(()),
            )
            .unwrap_err();
        assert_eq!(crate::exit::code_for(&err), 3);
        assert!(format!("{err:#}").contains("pkg/a.py: RECORD expected"));
    }

    #[test]
    fn names() {
        assert!(validate_name(b"foo/bar.py").is_ok());
        assert!(validate_name(b"foo/").is_ok());
        for bad in [
            &b"/etc/passwd"[..],
            b"../x",
            b"a/../../x",
            b"a\\b",
            b"C:x",
            b"a\0b",
            b"a//b",
            b"./a",
            b"\xff\xfe",
            b"a\nb",
            b"",
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(fold_key("Foo/Caf\u{e9}"), fold_key("foo/cafe\u{301}"));
        // The ASCII fast path is the general rule on ASCII names.
        for n in ["Foo/BAR.py", "a/", "Pkg-1.0.dist-info/RECORD", "x~Y_z"] {
            let general: String = n.trim_end_matches('/').nfc().collect::<String>();
            let general: String = general.to_lowercase().nfc().collect();
            assert_eq!(fold_key(n), general, "{n}");
        }
    }

    /// One stored entry of a hand-made zip: its extra fields, and the
    /// 32-bit sizes its central header declares (`None`: the real ones).
    struct Raw {
        name: &'static str,
        data: &'static [u8],
        local_extra: Vec<u8>,
        cd_extra: Vec<u8>,
        cd_uncompressed32: Option<u32>,
    }

    fn raw(name: &'static str, data: &'static [u8]) -> Raw {
        Raw {
            name,
            data,
            local_extra: Vec::new(),
            cd_extra: Vec::new(),
            cd_uncompressed32: None,
        }
    }

    fn field(id: u16, data: &[u8]) -> Vec<u8> {
        let mut v = id.to_le_bytes().to_vec();
        v.extend((data.len() as u16).to_le_bytes());
        v.extend(data);
        v
    }

    fn u64s(vals: &[u64]) -> Vec<u8> {
        vals.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// A stored zip of `entries`; with `zip64_end`, a Zip64 end record and
    /// locator and an end record whose fields are all 0xFFFF…
    fn build(entries: &[Raw], zip64_end: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut cd = Vec::new();
        for e in entries {
            let mut crc = flate2::Crc::new();
            crc.update(e.data);
            let crc = crc.sum();
            let size = e.data.len() as u32;
            let off = out.len() as u32;
            out.extend(SIG_LOCAL.to_le_bytes());
            for v in [20u16, 0, 0, 0, 0x21] {
                out.extend(v.to_le_bytes());
            }
            out.extend(crc.to_le_bytes());
            out.extend(size.to_le_bytes());
            out.extend(size.to_le_bytes());
            out.extend((e.name.len() as u16).to_le_bytes());
            out.extend((e.local_extra.len() as u16).to_le_bytes());
            out.extend(e.name.as_bytes());
            out.extend(&e.local_extra);
            out.extend(e.data);
            cd.extend(SIG_CENTRAL.to_le_bytes());
            for v in [0x031eu16, 20, 0, 0, 0, 0x21] {
                cd.extend(v.to_le_bytes());
            }
            cd.extend(crc.to_le_bytes());
            cd.extend(size.to_le_bytes());
            cd.extend(e.cd_uncompressed32.unwrap_or(size).to_le_bytes());
            cd.extend((e.name.len() as u16).to_le_bytes());
            cd.extend((e.cd_extra.len() as u16).to_le_bytes());
            for v in [0u16, 0, 0] {
                cd.extend(v.to_le_bytes());
            }
            cd.extend((0o100644u32 << 16).to_le_bytes());
            cd.extend(off.to_le_bytes());
            cd.extend(e.name.as_bytes());
            cd.extend(&e.cd_extra);
        }
        let cd_off = out.len() as u64;
        let n = entries.len() as u64;
        out.extend(&cd);
        if zip64_end {
            let rec = out.len() as u64;
            out.extend(SIG_EOCD64.to_le_bytes());
            out.extend(44u64.to_le_bytes());
            out.extend([45u8, 3, 45, 0]);
            out.extend([0u8; 8]);
            out.extend(u64s(&[n, n, cd.len() as u64, cd_off]));
            out.extend(SIG_LOCATOR64.to_le_bytes());
            out.extend(0u32.to_le_bytes());
            out.extend(rec.to_le_bytes());
            out.extend(1u32.to_le_bytes());
        }
        out.extend(SIG_EOCD.to_le_bytes());
        out.extend([0u8; 4]);
        if zip64_end {
            out.extend([0xFF; 4]);
            out.extend([0xFF; 8]);
        } else {
            out.extend((n as u16).to_le_bytes());
            out.extend((n as u16).to_le_bytes());
            out.extend((cd.len() as u32).to_le_bytes());
            out.extend((cd_off as u32).to_le_bytes());
        }
        out.extend([0u8; 2]);
        out
    }

    /// Open and stream; the error text, if any.
    fn check(bytes: &[u8]) -> std::result::Result<(), String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.whl");
        std::fs::write(&path, bytes).unwrap();
        let a = WheelArchive::open(&path, 1 << 20).map_err(|e| format!("{e:#}"))?;
        a.stream(
            |_| Ok(None),
            |_, r| {
                io::copy(r, &mut io::sink())?;
                Ok(())
            },
        )
        .map(|_| ())
        .map_err(|e| {
            assert_eq!(crate::exit::code_for(&e), 3, "{e:#}");
            format!("{e:#}")
        })
    }

    #[test]
    fn hand_made_zip_is_read() {
        check(&build(
            &[raw("a.py", b"print(1)\n"), raw("b.txt", b"b")],
            false,
        ))
        .unwrap();
    }

    #[test]
    fn zip64_only_where_needed() {
        // Local Zip64 repeating the sizes exactly (protobuf's wheels, Python's
        // zipfile with force_zip64): accepted.
        let mut e = raw("a.py", b"print(1)\n");
        e.local_extra = field(1, &u64s(&[9, 9]));
        check(&build(&[e], false)).unwrap();
        // … saying another size than the header: refused.
        let mut e = raw("a.py", b"print(1)\n");
        e.local_extra = field(1, &u64s(&[4096, 9]));
        let m = check(&build(&[e], false)).unwrap_err();
        assert!(
            m.contains("a.py: local header: Zip64 extra field says 4096"),
            "{m}"
        );
        // … or holding one size only, or more: refused.
        for data in [u64s(&[9]), u64s(&[9, 9, 0])] {
            let mut e = raw("a.py", b"print(1)\n");
            e.local_extra = field(1, &data);
            let m = check(&build(&[e], false)).unwrap_err();
            assert!(m.contains("expected 16 (both sizes)"), "{m}");
        }
        // Central Zip64 field with nothing marked 0xFFFFFFFF: refused.
        let mut e = raw("a.py", b"print(1)\n");
        e.cd_extra = field(1, &u64s(&[9]));
        let m = check(&build(&[e], false)).unwrap_err();
        assert!(
            m.contains("a.py: Zip64 extra field although no size or offset needs it"),
            "{m}"
        );
        // A marked size with its value: accepted; with bytes beyond: refused.
        let mut e = raw("a.py", b"print(1)\n");
        e.cd_uncompressed32 = Some(0xFFFF_FFFF);
        e.cd_extra = field(1, &u64s(&[9]));
        check(&build(&[e], false)).unwrap();
        let mut e = raw("a.py", b"print(1)\n");
        e.cd_uncompressed32 = Some(0xFFFF_FFFF);
        e.cd_extra = field(1, &u64s(&[9, 0xdead]));
        let m = check(&build(&[e], false)).unwrap_err();
        assert!(
            m.contains("Zip64 extra field of 16 bytes: expected 8"),
            "{m}"
        );
        // A marked size without the field: refused.
        let mut e = raw("a.py", b"print(1)\n");
        e.cd_uncompressed32 = Some(0xFFFF_FFFF);
        let m = check(&build(&[e], false)).unwrap_err();
        assert!(m.contains("without a Zip64 extra field"), "{m}");
        // A Zip64 end record for two entries in a few hundred bytes: refused.
        let m = check(&build(&[raw("a.py", b"x"), raw("b.py", b"y")], true)).unwrap_err();
        assert!(m.contains("Zip64 only where needed"), "{m}");
    }

    #[test]
    fn extra_fields_hide_no_bytes() {
        let ok = |local: Vec<u8>, central: Vec<u8>| {
            let mut e = raw("a.py", b"print(1)\n");
            e.local_extra = local;
            e.cd_extra = central;
            check(&build(&[e], false))
        };
        // Known fields of their size: Info-ZIP's timestamp and uid/gid, NTFS.
        let ut = |flags: u8, n: usize| {
            let mut d = vec![flags];
            d.extend(vec![0x11; 4 * n]);
            field(0x5455, &d)
        };
        let ux = field(0x7875, &[1, 4, 0xe8, 3, 0, 0, 4, 0xe8, 3, 0, 0]);
        let mut ntfs = vec![0u8; 4];
        ntfs.extend(1u16.to_le_bytes());
        ntfs.extend(24u16.to_le_bytes());
        ntfs.extend([7u8; 24]);
        let ntfs = field(0x000a, &ntfs);
        ok(
            [ut(3, 2), ux.clone()].concat(),
            [ut(3, 1), field(0x7875, &[])].concat(),
        )
        .unwrap();
        ok(ntfs.clone(), ntfs).unwrap();
        // 64 KB of opaque bytes in an unknown local-only field: refused.
        let m = ok(field(0xcafe, &vec![0x41; 65_000]), Vec::new()).unwrap_err();
        assert!(
            m.contains("a.py: local header: extra field 0xcafe of 65000 bytes: unknown"),
            "{m}"
        );
        let m = ok(field(0x4242, b"hidden"), Vec::new()).unwrap_err();
        assert!(m.contains("unknown"), "{m}");
        let m = ok(Vec::new(), field(0x4242, b"hidden")).unwrap_err();
        assert!(m.contains("a.py: extra field 0x4242"), "{m}");
        // Known ids padded with bytes, twice, or bytes after the last field.
        for (local, word) in [
            (ut(1, 1 + 100), "0x5455 of 405 bytes"),
            (ut(0x81, 1), "0x5455 of 5 bytes"),
            ([ut(1, 1), ut(1, 1)].concat(), "twice"),
            (
                field(0x7875, &[1, 4, 0, 0, 0, 0, 4, 0, 0, 0, 0, 9, 9]),
                "0x7875 of 13 bytes",
            ),
            (field(0x000a, &[0u8; 40]), "0x000a of 40 bytes"),
            (
                [ut(1, 1), vec![1, 2]].concat(),
                "2 bytes after the last extra field",
            ),
        ] {
            let m = ok(local, Vec::new()).unwrap_err();
            assert!(m.contains(word), "{word}: {m}");
        }
    }

    proptest! {
        #[test]
        fn name_validation_never_panics(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(n) = validate_name(&b) {
                prop_assert!(!n.starts_with('/'));
                prop_assert!(!n.split('/').any(|c| c == ".."));
                prop_assert!(!n.contains('\\'));
            }
        }

        #[test]
        fn mutated_archives_never_panic(pos in 0usize..4096, byte in any::<u8>(), cut in 0usize..4096) {
            let good = sample_zip();
            let mut b = good.clone();
            let p = pos % b.len();
            b[p] ^= byte | 1;
            if cut % 3 == 0 {
                b.truncate(cut % good.len());
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("x.whl");
            std::fs::write(&path, &b).unwrap();
            if let Ok(mut a) = WheelArchive::open(&path, 1 << 20) {
                let names: Vec<String> = a.entries().iter().map(|e| e.name.clone()).collect();
                for n in &names {
                    let _ = a.read_entry(n, 1 << 20);
                }
                let _ = a.stream(|_| Ok(None), |_, r| {
                    let _ = io::copy(r, &mut io::sink());
                    Ok(())
                });
            }
        }

        #[test]
        fn open_never_panics_on_garbage(b in proptest::collection::vec(any::<u8>(), 0..400)) {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("x.whl");
            std::fs::write(&p, &b).unwrap();
            if let Ok(a) = WheelArchive::open(&p, 1 << 20) {
                let _ = a.stream(|_| Ok(None), |_, _| Ok(()));
            }
        }
    }
}
