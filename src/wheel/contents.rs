//! One wheel read as a whole: the archive checked (`archive`), its single
//! `.dist-info` directory found, `WHEEL`, `METADATA` and `RECORD` parsed, the
//! names and versions in the file name, the directory and METADATA compared,
//! and every entry's bytes checked against RECORD while they stream.
//!
//! [`read_wheel`] is the one pass both verification and installation make:
//! verification with a callback that discards the bytes, the installer with
//! one that writes them (and the installer compares the outcome with what
//! was verified).
use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use anyhow::Result;
use sha2::{Digest, Sha256};

use crate::exit::verification;
use crate::wheel::archive::{Entry, Expected, StreamSummary, WheelArchive};
use crate::wheel::metadata::{Metadata, WheelInfo};
use crate::wheel::name::{canonical_version, normalize_name, WheelName};
use crate::wheel::record::{hex, HashAlgorithm, HashValue, Record};

/// Size limits for the `.dist-info` files read into memory.
const MAX_RECORD: u64 = 64 << 20;
const MAX_METADATA: u64 = 16 << 20;
const MAX_WHEEL: u64 = 1 << 20;
const MAX_ENTRY_POINTS: u64 = 4 << 20;

/// What a wheel says about itself, after the checks.
#[derive(Debug, Clone)]
pub(crate) struct WheelContents {
    pub file_name: WheelName,
    /// `name-version.dist-info` (no trailing slash).
    pub dist_info: String,
    pub metadata: Metadata,
    pub wheel_info: WheelInfo,
    pub record: Record,
    /// sha256 of the RECORD bytes.
    pub record_sha256: [u8; 32],
    /// Raw `entry_points.txt`, if present.
    pub entry_points: Option<Vec<u8>>,
    pub summary: StreamSummary,
}

/// Open, check and stream one wheel. `f` sees every entry (in archive order)
/// with a reader of its bytes; each file entry's reader fails at its end if
/// the bytes differ from RECORD. Any problem is a `VerificationError` naming
/// the wheel.
///
/// `expect_record`: the sha256 RECORD must have (the installer passes the
/// verified one, so that a swapped RECORD is refused before any byte streams).
pub(crate) fn read_wheel<F>(
    path: &Path,
    max_uncompressed: u64,
    expect_record: Option<&[u8; 32]>,
    f: F,
) -> Result<WheelContents>
where
    F: FnMut(&Entry, &mut dyn Read) -> Result<()>,
{
    read_wheel_with(path, max_uncompressed, expect_record, Depth::Deep, f)
}

/// How much of a wheel [`read_wheel_with`] inflates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Depth {
    /// Every entry inflated and checked against RECORD (`venvdeb verify`,
    /// the installer).
    Deep,
    /// Only the `.dist-info` files parsed here (WHEEL, METADATA, RECORD,
    /// entry_points.txt) inflated and checked; every other entry is read
    /// compressed — the whole file still hashed and its layout checked
    /// (`venvdeb build`, which inflates and checks each installed entry
    /// against the verified RECORD as it packs it: one inflation instead of
    /// two).
    Light,
}

/// [`read_wheel`] at a chosen [`Depth`].
pub(crate) fn read_wheel_with<F>(
    path: &Path,
    max_uncompressed: u64,
    expect_record: Option<&[u8; 32]>,
    depth: Depth,
    f: F,
) -> Result<WheelContents>
where
    F: FnMut(&Entry, &mut dyn Read) -> Result<()>,
{
    let p = path.display().to_string();
    let fname = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| verification(format!("{p}: file name is not valid UTF-8")))?;
    let file_name = WheelName::parse(fname).map_err(|e| verification(format!("{p}: {e}")))?;
    let mut archive = WheelArchive::open(path, max_uncompressed)?;

    // Exactly one top-level .dist-info directory.
    let dist_infos: BTreeSet<&str> = archive
        .entries()
        .iter()
        .filter_map(|e| e.name.split_once('/').map(|(top, _)| top))
        .filter(|top| top.ends_with(".dist-info"))
        .collect();
    let dist_info = match dist_infos.len() {
        1 => dist_infos.into_iter().next().expect("one").to_string(),
        n => {
            return Err(verification(format!(
                "{p}: expected exactly one .dist-info directory, found {n}{}",
                if n > 0 {
                    format!(
                        " ({})",
                        dist_infos.into_iter().collect::<Vec<_>>().join(", ")
                    )
                } else {
                    String::new()
                }
            )))
        }
    };
    let stem = dist_info.trim_end_matches(".dist-info");
    let (di_name, di_version) = stem.split_once('-').ok_or_else(|| {
        verification(format!(
            "{p}: .dist-info directory {dist_info:?} is not name-version"
        ))
    })?;
    let want_name = file_name.normalized_name();
    let want_version = file_name.canonical_version();
    if normalize_name(di_name) != want_name || canonical_version(di_version) != want_version {
        return Err(verification(format!(
            "{p}: file name says {} {}, .dist-info directory says {di_name} {di_version}",
            file_name.distribution, file_name.version
        )));
    }

    let wheel_bytes = archive.read_entry(&format!("{dist_info}/WHEEL"), MAX_WHEEL)?;
    let wheel_info = WheelInfo::parse(&wheel_bytes)
        .map_err(|e| verification(format!("{p}: {dist_info}/WHEEL: {e}")))?;
    let meta_bytes = archive.read_entry(&format!("{dist_info}/METADATA"), MAX_METADATA)?;
    let metadata = Metadata::parse(&meta_bytes)
        .map_err(|e| verification(format!("{p}: {dist_info}/METADATA: {e}")))?;
    if normalize_name(&metadata.name) != want_name
        || canonical_version(&metadata.version) != want_version
    {
        return Err(verification(format!(
            "{p}: file name says {} {}, METADATA says {} {}",
            file_name.distribution, file_name.version, metadata.name, metadata.version
        )));
    }
    let record_name = format!("{dist_info}/RECORD");
    let record_bytes = archive.read_entry(&record_name, MAX_RECORD)?;
    let record = Record::parse(&record_bytes, &dist_info)
        .map_err(|e| verification(format!("{p}: {record_name}: {e}")))?;
    let record_sha256: [u8; 32] = Sha256::digest(&record_bytes).into();
    if let Some(want) = expect_record {
        if want != &record_sha256 {
            return Err(verification(format!(
                "{p}: {record_name}: expected sha256 {} as verified, found {}",
                hex(want),
                hex(&record_sha256)
            )));
        }
    }
    let ep_name = format!("{dist_info}/entry_points.txt");
    let entry_points = if archive.entries().iter().any(|e| e.name == ep_name) {
        Some(archive.read_entry(&ep_name, MAX_ENTRY_POINTS)?)
    } else {
        None
    };

    // The copies read ahead must already match RECORD (the streaming pass
    // checks the bytes it reads; this ties what was parsed to the same hash).
    let wheel_name = format!("{dist_info}/WHEEL");
    let meta_name = format!("{dist_info}/METADATA");
    let mut pre_read = vec![(&wheel_name, &wheel_bytes), (&meta_name, &meta_bytes)];
    if let Some(ep) = &entry_points {
        pre_read.push((&ep_name, ep));
    }
    for (name, bytes) in pre_read {
        let Some(want) = record.entries.get(name.as_str()) else {
            return Err(verification(format!(
                "{p}: {name}: expected a line in {record_name}, found none"
            )));
        };
        let mut h = want.hash.algorithm.hasher();
        h.update(bytes);
        let found = h.finish();
        if found != want.hash.digest || bytes.len() as u64 != want.size {
            return Err(verification(format!(
                "{p}: {name}: RECORD expected {} ({} bytes), found {}:{} ({} bytes)",
                want.hash,
                want.size,
                want.hash.algorithm.name(),
                hex(&found),
                bytes.len()
            )));
        }
    }

    // Every RECORD line names an entry.
    let names: BTreeSet<&str> = archive.entries().iter().map(|e| e.name.as_str()).collect();
    for listed in record.entries.keys().chain(record.unhashed.iter()) {
        if !names.contains(listed.as_str()) {
            return Err(verification(format!(
                "{p}: {record_name} lists {listed:?}: expected an entry of that name, found none"
            )));
        }
    }
    let exempt = [
        format!("{dist_info}/RECORD.jws"),
        format!("{dist_info}/RECORD.p7s"),
    ];
    let record_len = record_bytes.len() as u64;
    let parsed = [&wheel_name, &meta_name, &record_name, &ep_name];
    let summary = archive.stream_some(
        |e| {
            if e.name == record_name {
                return Ok(Some(Expected {
                    hash: HashValue {
                        algorithm: HashAlgorithm::Sha256,
                        digest: record_sha256.to_vec(),
                    },
                    size: record_len,
                }));
            }
            if let Some(r) = record.entries.get(&e.name) {
                return Ok(Some(Expected {
                    hash: r.hash.clone(),
                    size: r.size,
                }));
            }
            if e.at.is_dir || exempt.contains(&e.name) {
                return Ok(None);
            }
            Err(verification(format!(
                "{p}: {}: expected a line in {record_name}, found none",
                e.name
            )))
        },
        |e| depth == Depth::Deep || parsed.contains(&&e.name),
        f,
    )?;
    Ok(WheelContents {
        file_name,
        dist_info,
        metadata,
        wheel_info,
        record,
        record_sha256,
        entry_points,
        summary,
    })
}
