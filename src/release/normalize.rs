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
//! The input is checked first: safe member names, one `.dist-info`, and
//! every member's bytes equal to its input RECORD row (a wheel whose files
//! disagree with its own RECORD is refused, exit 3). Entries are streamed:
//! memory does not grow with the wheel's size.
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use zip::write::SimpleFileOptions;

use super::digest::{self, AtomicFile};
use super::wheelfile;

/// The deflate level of every entry.
pub const DEFLATE_LEVEL: i64 = 6;

/// Civil UTC date and time (year, month, day, hour, minute, second) of a Unix
/// time, clamped to what a DOS timestamp can hold.
pub fn dos_time_parts(epoch: u64) -> (u16, u8, u8, u8, u8, u8) {
    const MIN: u64 = 315_532_800; // 1980-01-01T00:00:00Z
    const MAX: u64 = 4_354_819_198; // 2107-12-31T23:59:58Z
    let t = epoch.clamp(MIN, MAX);
    let days = (t / 86_400) as i64;
    let secs = t % 86_400;
    // Howard Hinnant's days-from-civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as u16;
    (
        year,
        month,
        day,
        (secs / 3600) as u8,
        (secs / 60 % 60) as u8,
        (secs % 60) as u8,
    )
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

/// Normalize `input` into `output_dir/<same file name>`; returns the path.
pub fn normalize_wheel(input: &Path, output_dir: &Path, sde: u64) -> Result<PathBuf> {
    let file_name = input
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{}: no UTF-8 file name", input.display()))?
        .to_string();
    wheelfile::parse_name(&file_name)?;
    let dest = output_dir.join(&file_name);
    let mut wheel = wheelfile::open(input)?;
    let di = wheel.dist_info.clone();
    let record_name = format!("{di}/RECORD");
    let old_record = wheel
        .read_small(&record_name, 64 << 20)
        .with_context(|| format!("{}: reading {record_name}", input.display()))?;
    let mut old_rows = wheelfile::parse_record(&old_record)
        .with_context(|| format!("{}: {record_name}", input.display()))?;

    let mut names: Vec<String> = wheel
        .files
        .iter()
        .filter(|n| {
            **n != record_name
                && **n != format!("{di}/RECORD.jws")
                && **n != format!("{di}/RECORD.p7s")
        })
        .cloned()
        .collect();
    names.sort_by(|a, b| order_key(a, &di).cmp(&order_key(b, &di)));

    let mtime = zip_time(sde)?;
    let mut out = AtomicFile::create(&dest)?;
    let mut zw = zip::ZipWriter::new(out.take());
    let mut record = String::new();
    for name in &names {
        let mode = if wheel.executable.contains(name) {
            0o755
        } else {
            0o644
        };
        let mut entry = wheel
            .zip
            .by_name(name)
            .with_context(|| format!("{}: reading {name}", input.display()))?;
        let declared = entry.size();
        let opts = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(DEFLATE_LEVEL))
            .last_modified_time(mtime)
            .unix_permissions(mode)
            .large_file(declared >= u64::from(u32::MAX));
        zw.start_file(name.as_str(), opts)
            .with_context(|| format!("{}: writing {name}", dest.display()))?;
        let mut hw = digest::HashingWriter::new(&mut zw);
        std::io::copy(&mut entry, &mut hw)
            .with_context(|| format!("{}: copying {name}", input.display()))?;
        let (d, len, _) = hw.finish();
        let b64 = digest::b64url_nopad(&d);
        match old_rows.remove(name.as_str()) {
            None => {
                return Err(crate::exit::verification(format!(
                    "{}: {name} is not listed in {record_name}",
                    input.display()
                )))
            }
            Some((hash, size)) => {
                let expected = hash.strip_prefix("sha256=").with_context(|| {
                    format!(
                        "{}: {record_name}: {name} has hash {hash:?}; only sha256 is supported",
                        input.display()
                    )
                })?;
                if expected != b64 || size != len.to_string() {
                    return Err(crate::exit::verification(format!(
                        "{}: {name}: {record_name} says sha256={expected} size {size}, the entry has sha256={b64} size {len}",
                        input.display()
                    )));
                }
            }
        }
        record.push_str(&format!(
            "{},sha256={b64},{len}\n",
            wheelfile::csv_quote(name)
        ));
    }
    old_rows.remove(&record_name);
    old_rows.remove(&format!("{di}/RECORD.jws"));
    old_rows.remove(&format!("{di}/RECORD.p7s"));
    if let Some(extra) = old_rows.keys().next() {
        return Err(crate::exit::verification(format!(
            "{}: {record_name} lists {extra}, which is not in the wheel",
            input.display()
        )));
    }
    record.push_str(&format!("{},,\n", wheelfile::csv_quote(&record_name)));
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
pub fn check_not_in_place(input: &Path, output_dir: &Path) -> Result<()> {
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
