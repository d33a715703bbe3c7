//! The canonical wheel zip (`venvdeb wheels normalize`, and the last step
//! of `wheels build`). Whatever tool wrote a wheel, the same files give the
//! same bytes:
//!
//! - file entries only (no directory entries), in a fixed order: every file
//!   outside `*.dist-info/` sorted bytewise by name, then the `.dist-info`
//!   files sorted bytewise, then `RECORD` last;
//! - every timestamp is SOURCE_DATE_EPOCH as a zip (DOS, UTC) time, clamped
//!   to 1980-01-01 00:00:00 … 2107-12-31 23:59:58;
//! - Unix attributes `0644`, or `0755` for entries that had any execute bit;
//!   "made by" Unix, no extra fields, no comments;
//! - every entry deflated with zlib level 6 (the system libz);
//! - `RECORD` rewritten to list each entry in archive order with its sha256
//!   and size, itself as `RECORD,,`. `RECORD.jws`/`RECORD.p7s` signatures
//!   are dropped (they sign the old RECORD).
//!
//! The input is checked first by `crate::wheel` (the same reader `venvdeb
//! verify` uses): a wheel whose files disagree with its own RECORD, or whose
//! container is malformed, is refused (exit 3). Entries are streamed: memory
//! does not grow with the wheel's size.
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use zip::write::SimpleFileOptions;

use crate::atomic::AtomicFile;
use crate::wheel::archive::DEFAULT_MAX_UNCOMPRESSED;
use crate::wheel::contents::read_wheel;
use crate::wheel::record::{csv_quote, Hasher};

/// The deflate level of every entry.
pub(crate) const DEFLATE_LEVEL: i64 = 6;

/// Civil UTC date and time (year, month, day, hour, minute, second) of a Unix
/// time, clamped to what a DOS timestamp can hold.
pub(crate) fn dos_time_parts(epoch: u64) -> (u16, u8, u8, u8, u8, u8) {
    const MIN: u64 = 315_532_800; // 1980-01-01T00:00:00Z
    const MAX: u64 = 4_354_819_198; // 2107-12-31T23:59:58Z
    let t = epoch.clamp(MIN, MAX);
    let (y, mo, d, h, mi, s) = crate::sde::utc_parts(t);
    (y as u16, mo as u8, d as u8, h as u8, mi as u8, s as u8)
}

fn zip_time(epoch: u64) -> Result<zip::DateTime> {
    let (y, mo, d, h, mi, s) = dos_time_parts(epoch);
    zip::DateTime::from_date_and_time(y, mo, d, h, mi, s)
        .map_err(|_| anyhow::anyhow!("SOURCE_DATE_EPOCH {epoch} cannot be a zip timestamp"))
}

/// The canonical order: outside `.dist-info` first, then `.dist-info`,
/// RECORD last; bytewise within each group.
fn order_key<'a>(name: &'a str, dist_info: &str) -> (bool, bool, &'a [u8]) {
    let in_di = name.len() > dist_info.len()
        && name.starts_with(dist_info)
        && name.as_bytes()[dist_info.len()] == b'/';
    let is_record = in_di && &name[dist_info.len() + 1..] == "RECORD";
    (in_di, is_record, name.as_bytes())
}

/// A writer that computes the output's sha256 (for the new RECORD) and the
/// input RECORD's own algorithm (to compare with the verified RECORD) over
/// the same bytes.
struct DualHash<W> {
    inner: W,
    sha256: sha2::Sha256,
    recorded: Hasher,
    len: u64,
}

impl<W: Write> Write for DualHash<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        sha2::Digest::update(&mut self.sha256, &buf[..n]);
        self.recorded.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Normalize `input` into `output_dir/<same file name>`; returns the path.
///
/// Pass 1 is `crate::wheel::contents::read_wheel`: the container, the
/// names, one `.dist-info`, METADATA against the file name, and every
/// entry's bytes against RECORD. Pass 2 writes the entries in canonical
/// order and compares each one's bytes with the RECORD verified in pass 1
/// again, so a file changed between the passes is refused.
pub(crate) fn normalize_wheel(input: &Path, output_dir: &Path, sde: u64) -> Result<PathBuf> {
    let file_name = input
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{}: no UTF-8 file name", input.display()))?
        .to_string();
    let dest = output_dir.join(&file_name);
    let mut files: Vec<(String, bool)> = Vec::new();
    let contents = read_wheel(input, DEFAULT_MAX_UNCOMPRESSED, None, |e, _| {
        if !e.at.is_dir {
            files.push((e.name.clone(), e.is_executable()));
        }
        Ok(())
    })?;
    let di = contents.dist_info.clone();
    let record_name = format!("{di}/RECORD");
    let skip = [
        record_name.clone(),
        format!("{di}/RECORD.jws"),
        format!("{di}/RECORD.p7s"),
    ];
    files.retain(|(n, _)| !skip.contains(n));
    files.sort_by(|a, b| order_key(&a.0, &di).cmp(&order_key(&b.0, &di)));

    let mut zin = zip::ZipArchive::new(
        File::open(input).with_context(|| format!("opening {}", input.display()))?,
    )
    .with_context(|| format!("{}: reading the zip", input.display()))?;
    let mtime = zip_time(sde)?;
    let mut out = AtomicFile::create(&dest)?;
    let mut zw = zip::ZipWriter::new(out.take());
    let mut record = String::new();
    for (name, exec) in &files {
        let expected = contents.record.entries.get(name).ok_or_else(|| {
            crate::exit::verification(format!(
                "{}: {name} is not in {record_name}",
                input.display()
            ))
        })?;
        let mut entry = zin
            .by_name(name)
            .with_context(|| format!("{}: reading {name}", input.display()))?;
        let opts = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(DEFLATE_LEVEL))
            .last_modified_time(mtime)
            .unix_permissions(if *exec { 0o755 } else { 0o644 })
            .large_file(expected.size >= u64::from(u32::MAX));
        zw.start_file(name.as_str(), opts)
            .with_context(|| format!("{}: writing {name}", dest.display()))?;
        let mut hw = DualHash {
            inner: &mut zw,
            sha256: sha2::Sha256::default(),
            recorded: expected.hash.algorithm.hasher(),
            len: 0,
        };
        std::io::copy(&mut (&mut entry).take(expected.size + 1), &mut hw)
            .with_context(|| format!("{}: copying {name}", input.display()))?;
        let got = hw.recorded.finish();
        if got != expected.hash.digest || hw.len != expected.size {
            return Err(crate::exit::verification(format!(
                "{}: {name} changed after verification: {record_name} says {} size {}, found {} bytes with another hash",
                input.display(),
                expected.hash,
                expected.size,
                hw.len
            )));
        }
        let d: [u8; 32] = sha2::Digest::finalize(hw.sha256).into();
        record.push_str(&format!(
            "{},sha256={},{}\n",
            csv_quote(name),
            crate::encoding::b64url_encode(&d),
            hw.len
        ));
    }
    record.push_str(&format!("{},,\n", csv_quote(&record_name)));
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(DEFLATE_LEVEL))
        .last_modified_time(mtime)
        .unix_permissions(0o644);
    zw.start_file(record_name.as_str(), opts)?;
    zw.write_all(record.as_bytes())?;
    let f = zw
        .finish()
        .with_context(|| format!("{}: finishing the zip", dest.display()))?;
    f.sync_all().ok();
    drop(f);
    out.commit()?;
    Ok(dest)
}

/// Refuse to overwrite an input with its own output.
pub(crate) fn check_not_in_place(input: &Path, output_dir: &Path) -> Result<()> {
    if let (Ok(a), Ok(b)) = (
        input.parent().unwrap_or(Path::new(".")).canonicalize(),
        output_dir.canonicalize(),
    ) {
        if a == b {
            bail!(
                "{}: the output directory is the wheel's own directory; choose another --output",
                input.display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dos_time_is_utc_civil_and_clamped() {
        assert_eq!(dos_time_parts(0), (1980, 1, 1, 0, 0, 0));
        assert_eq!(dos_time_parts(1_700_000_000), (2023, 11, 14, 22, 13, 20));
        assert_eq!(dos_time_parts(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(dos_time_parts(u64::MAX), (2107, 12, 31, 23, 59, 58));
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_quote("a,\"b"), "\"a,\"\"b\"");
        assert_eq!(csv_quote("a/b.py"), "a/b.py");
    }

    #[test]
    fn record_sorts_last_and_dist_info_after_code() {
        let di = "a-1.dist-info";
        let mut v = vec![
            "a-1.dist-info/RECORD",
            "a-1.dist-info/METADATA",
            "z.py",
            "a/__init__.py",
            "a-1.data/scripts/x",
            "a-1.dist-info/WHEEL",
        ];
        v.sort_by(|x, y| order_key(x, di).cmp(&order_key(y, di)));
        assert_eq!(
            v,
            [
                "a-1.data/scripts/x",
                "a/__init__.py",
                "z.py",
                "a-1.dist-info/METADATA",
                "a-1.dist-info/WHEEL",
                "a-1.dist-info/RECORD"
            ]
        );
    }
}
