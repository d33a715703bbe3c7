//! Verification, fail closed: the OpenPGP signature over the wheel list
//! (`signature`), the list itself (`sums`), the application's lock (`lock`),
//! the double check wheel == lock == signed list, and every selected wheel
//! read in full (`crate::wheel::contents`: safe zip, one `.dist-info`, names,
//! RECORD).
//!
//! The result, [`VerifiedWheelhouse`], can only be made by [`verify`] (its
//! fields are private): the installer takes nothing else, so an unverified
//! wheel cannot reach a venv. [`VerifiedWheel::stream`] re-reads a wheel for
//! the installer and re-checks every entry against the verified RECORD and
//! the file against the verified sha256 while it streams.
//!
//! What this module does not do: choose among compatible wheels (tags are the
//! plan's job), install, or write anything: verification only reads.
pub(crate) mod inputs;
pub(crate) mod lock;
pub(crate) mod report;
pub mod signature;
pub(crate) mod sums;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};

use crate::exit::verification;
use crate::wheel::archive::Entry;
use crate::wheel::contents::{read_wheel, read_wheel_with, Depth, WheelContents};
use crate::wheel::markers::MarkerEnv;
use crate::wheel::metadata::{Metadata, WheelInfo};
use crate::wheel::name::{canonical_version, Tag, WheelName};
use crate::wheel::record::{hex, HashAlgorithm, Record};

pub use crate::wheel::archive::DEFAULT_MAX_UNCOMPRESSED;
pub use signature::{GoodSignature, SignaturePolicy};

/// Largest sums or lock file read (they are small text files).
const MAX_LIST_BYTES: u64 = crate::input::MAX_TEXT;

/// Everything verification needs. Paths are used as given (no implicit
/// key store, no search path).
#[derive(Debug, Clone)]
pub struct VerifyInputs {
    pub wheelhouse: PathBuf,
    pub lock: PathBuf,
    pub sums: PathBuf,
    pub signature: PathBuf,
    pub keyring: PathBuf,
    /// Distinct keyring keys that must have signed (at least 1).
    pub threshold: usize,
    /// The target interpreter's marker environment.
    pub marker_env: MarkerEnv,
    /// Cap on each wheel's total uncompressed size.
    pub max_uncompressed: u64,
    /// Reference time and maximum signature age (default: now, no maximum).
    pub signature_policy: SignaturePolicy,
}

/// One wheel that passed every check.
#[derive(Debug, Clone)]
pub struct VerifiedWheel {
    file_name: String,
    path: PathBuf,
    sha256: [u8; 32],
    size: u64,
    uncompressed_size: u64,
    wheel_name: WheelName,
    dist_name: String,
    version: String,
    dist_info: String,
    metadata: Metadata,
    wheel_info: WheelInfo,
    record: Record,
    record_sha256: [u8; 32],
    entry_points: Option<Vec<u8>>,
    max_uncompressed: u64,
}

impl VerifiedWheel {
    pub fn file_name(&self) -> &str {
        &self.file_name
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn sha256(&self) -> &[u8; 32] {
        &self.sha256
    }
    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256)
    }
    /// File size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// Sum of the entries' uncompressed sizes.
    pub fn uncompressed_size(&self) -> u64 {
        self.uncompressed_size
    }
    /// The parsed file name (with build tag).
    pub fn wheel_name(&self) -> &WheelName {
        &self.wheel_name
    }
    /// The compatibility tags of the file name, expanded and sorted.
    pub fn tags(&self) -> &[Tag] {
        &self.wheel_name.tags
    }
    /// PEP 503 normalized distribution name.
    pub fn dist_name(&self) -> &str {
        &self.dist_name
    }
    /// Version as METADATA states it.
    pub fn version(&self) -> &str {
        &self.version
    }
    /// `name-version.dist-info` as in the archive.
    pub fn dist_info(&self) -> &str {
        &self.dist_info
    }
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }
    pub fn wheel_info(&self) -> &WheelInfo {
        &self.wheel_info
    }
    /// RECORD: path → hash and size, as verified.
    pub fn record(&self) -> &Record {
        &self.record
    }
    /// sha256 of the verified RECORD bytes.
    pub(crate) fn record_sha256(&self) -> &[u8; 32] {
        &self.record_sha256
    }
    /// The cap on the sum of uncompressed sizes it was verified with.
    pub(crate) fn max_uncompressed(&self) -> u64 {
        self.max_uncompressed
    }
    /// Raw `entry_points.txt` (parse with `wheel::metadata::parse_entry_points`).
    pub fn entry_points(&self) -> Option<&[u8]> {
        self.entry_points.as_deref()
    }

    /// Read the wheel again for installation: `f` gets each entry in archive
    /// order with a reader of its bytes. RECORD must be byte-identical to the
    /// verified one (checked before anything streams); each file's reader
    /// fails at its end if its bytes differ from RECORD; the whole file must
    /// still hash to the verified sha256 (checked at the end). Any error
    /// means: discard everything written from this stream.
    pub fn stream<F>(&self, f: F) -> Result<()>
    where
        F: FnMut(&Entry, &mut dyn Read) -> Result<()>,
    {
        let c = read_wheel(
            &self.path,
            self.max_uncompressed,
            Some(&self.record_sha256),
            f,
        )?;
        if c.summary.sha256 != self.sha256 {
            return Err(verification(format!(
                "{}: expected sha256 {} as verified, found {} (file changed after verification)",
                self.path.display(),
                hex(&self.sha256),
                hex(&c.summary.sha256)
            )));
        }
        Ok(())
    }
}

/// One lock entry that applies to the target, with its verified wheels.
#[derive(Debug, Clone)]
pub struct VerifiedRequirement {
    name: String,
    display_name: String,
    version: String,
    extras: Vec<String>,
    marker: Option<String>,
    origin: String,
    wheels: Vec<VerifiedWheel>,
}

impl VerifiedRequirement {
    /// PEP 503 normalized name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The name as the lock writes it.
    pub fn display_name(&self) -> &str {
        &self.display_name
    }
    /// The pinned version as the lock writes it.
    pub fn version(&self) -> &str {
        &self.version
    }
    pub fn extras(&self) -> &[String] {
        &self.extras
    }
    /// The marker (already evaluated true for the target), if any.
    pub fn marker(&self) -> Option<&str> {
        self.marker.as_deref()
    }
    /// Where in the lock it is (`requirements.txt line 3`).
    pub fn origin(&self) -> &str {
        &self.origin
    }
    /// Every wheel of this pinned version that passed the double
    /// verification, sorted by file name (at least one).
    pub fn wheels(&self) -> &[VerifiedWheel] {
        &self.wheels
    }
}

/// The outcome of [`verify`]; only `verify` can make one.
#[derive(Debug, Clone)]
pub struct VerifiedWheelhouse {
    wheelhouse: PathBuf,
    signatures: Vec<GoodSignature>,
    signers: Vec<String>,
    unknown_signers: Vec<String>,
    requirements: Vec<VerifiedRequirement>,
    skipped: Vec<String>,
    unselected: Vec<String>,
    marker_env: MarkerEnv,
    reference_time: u64,
    at: Option<u64>,
}

impl VerifiedWheelhouse {
    /// The time signatures were judged at (Unix seconds).
    pub fn reference_time(&self) -> u64 {
        self.reference_time
    }
    /// The reference time when one was given (`--at`), else `None` (now).
    pub fn at(&self) -> Option<u64> {
        self.at
    }
    /// Primary key fingerprints of the signers (uppercase hex, sorted).
    pub fn signers(&self) -> &[String] {
        &self.signers
    }
    /// The good signatures (signer, signing subkey, creation time).
    pub fn signatures(&self) -> &[GoodSignature] {
        &self.signatures
    }
    /// Issuers of signatures by keys outside the keyring (not counted).
    pub fn unknown_signers(&self) -> &[String] {
        &self.unknown_signers
    }
    /// The lock's requirements that apply to the target, in lock order.
    pub fn requirements(&self) -> &[VerifiedRequirement] {
        &self.requirements
    }
    /// Requirements whose marker is false for the target (`name==version (origin)`).
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }
    /// Wheelhouse files not selected by the lock (left alone), sorted.
    pub fn unselected(&self) -> &[String] {
        &self.unselected
    }
    pub fn wheelhouse(&self) -> &Path {
        &self.wheelhouse
    }
    pub fn marker_env(&self) -> &MarkerEnv {
        &self.marker_env
    }
    /// Every verified wheel, in requirement order.
    pub fn wheels(&self) -> impl Iterator<Item = &VerifiedWheel> {
        self.requirements.iter().flat_map(|r| r.wheels.iter())
    }
}

fn read_small(path: &Path, what: &str) -> Result<Vec<u8>> {
    crate::input::read_regular(path, what, MAX_LIST_BYTES).map_err(as_verification)
}

/// The `*.whl` names directly in the wheelhouse `wh` that are UTF-8 (the
/// others cannot be wheels), sorted: what verification picks from, and
/// where dh_shlibdeps looks for bundled libraries (`debhelper`).
pub(crate) fn wheel_names(wh: &Path) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for ent in
        std::fs::read_dir(wh).with_context(|| format!("listing wheelhouse {}", wh.display()))?
    {
        let ent = ent.with_context(|| format!("listing wheelhouse {}", wh.display()))?;
        if let Some(name) = ent.file_name().to_str().filter(|n| n.ends_with(".whl")) {
            out.insert(name.to_string());
        }
    }
    Ok(out)
}

/// A bad verification input (a FIFO, a device, over its size cap) is a
/// verification failure (exit 3); a missing or unreadable file stays a
/// usage error (exit 2).
pub(crate) fn as_verification(e: anyhow::Error) -> anyhow::Error {
    if crate::input::is_input_error(&e) {
        verification(format!("{e:#}"))
    } else {
        e
    }
}

/// Hash a file with one algorithm (only for locks that pin with sha384/512).
fn hash_file(path: &Path, alg: HashAlgorithm) -> Result<Vec<u8>> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = alg.hasher();
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finish())
}

/// The largest file taken for a Git LFS pointer (they are about 130 bytes;
/// the spec allows extensions, keep a margin).
const MAX_LFS_POINTER: u64 = 1024;

/// If `path` is a Git LFS pointer file: its `oid sha256:` and `size`.
pub fn lfs_pointer(path: &Path) -> Option<(String, u64)> {
    let b = crate::input::read_regular(path, "wheel", MAX_LFS_POINTER).ok()?;
    let t = std::str::from_utf8(&b).ok()?;
    let mut lines = t.lines();
    if !lines
        .next()?
        .starts_with("version https://git-lfs.github.com/spec/")
    {
        return None;
    }
    let (mut oid, mut size) = (None, None);
    for l in lines {
        if let Some(o) = l.strip_prefix("oid sha256:") {
            oid = Some(o.trim().to_string());
        } else if let Some(s) = l.strip_prefix("size ") {
            size = s.trim().parse::<u64>().ok();
        }
    }
    Some((oid?, size?))
}

/// "expected one of the lock's hashes, found this; the signed list says":
/// the one wording of a wheel's hash mismatch.
fn mismatch_message(
    path: &Path,
    r: &lock::LockedRequirement,
    sha: &[u8],
    signed: Option<&sums::SumEntry>,
    sums_name: &str,
) -> String {
    let expected: Vec<String> = r.hashes.iter().map(|h| h.hash.to_string()).collect();
    format!(
        "{}: sha256 expected one of [{}] ({}), found sha256:{}; {}",
        path.display(),
        expected.join(", "),
        r.origin,
        hex(sha),
        match signed {
            Some(s) => format!("{sums_name} line {} says sha256:{}", s.line, hex(&s.sha256)),
            None => format!("not in {sums_name}"),
        }
    )
}

/// For a candidate that could not be read as a wheel: when its sha256 is
/// neither pinned by the lock nor in the signed list, the message saying so
/// (naming a Git LFS pointer as one); `None` when the hash is fine and the
/// file's own problem is the message.
fn hash_mismatch(
    path: &Path,
    r: &lock::LockedRequirement,
    signed: Option<&sums::SumEntry>,
    sums_name: &str,
) -> Option<String> {
    let sha = match hash_file(path, HashAlgorithm::Sha256) {
        Ok(d) => d,
        Err(e) => return Some(format!("{e:#}")),
    };
    let locked = r.hashes.iter().any(|h| {
        if h.hash.algorithm == HashAlgorithm::Sha256 {
            h.hash.digest == sha
        } else {
            hash_file(path, h.hash.algorithm).is_ok_and(|d| d == h.hash.digest)
        }
    });
    let in_list = signed.is_some_and(|s| s.sha256[..] == sha[..]);
    if locked && in_list {
        return None;
    }
    let mut m = mismatch_message(path, r, &sha, signed, sums_name);
    if let Some((oid, size)) = lfs_pointer(path) {
        let matches = r
            .hashes
            .iter()
            .any(|h| h.hash.algorithm == HashAlgorithm::Sha256 && hex(&h.hash.digest) == oid);
        m.push_str(&format!(
            ". This file is a Git LFS pointer (oid sha256:{oid}, size {size}){}, not the wheel: \
             fetch the LFS objects (`git lfs pull`) and verify again",
            if matches {
                ", whose oid is the pinned sha256"
            } else {
                ""
            }
        ));
    }
    Some(m)
}

/// Read every candidate wheel in parallel (all cores, each file read once);
/// results in input order.
fn read_all(paths: &[PathBuf], max: u64, depth: Depth) -> Vec<Result<WheelContents>> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(paths.len())
        .max(1);
    // Largest first balances the load (sizes only order the work queue).
    let mut order: Vec<usize> = (0..paths.len()).collect();
    order.sort_by_key(|&i| {
        std::cmp::Reverse(std::fs::metadata(&paths[i]).map(|m| m.len()).unwrap_or(0))
    });
    crate::workqueue::run(paths.len(), &order, threads, false, |i| {
        read_wheel_with(&paths[i], max, None, depth, |_, _| Ok(()))
    })
    .into_iter()
    .map(|r| r.unwrap_or_else(|| Err(anyhow::anyhow!("wheel not read"))))
    .collect()
}

/// Verify everything; return the verified wheelhouse or a
/// `VerificationError` listing every problem found.
pub fn verify(inputs: &VerifyInputs) -> Result<VerifiedWheelhouse> {
    verify_with(inputs, Depth::Deep)
}

/// [`verify`] for `venvdeb build`, which inflates every installed entry
/// once, checking it against the verified RECORD, as it packs it: the same
/// checks, except that the wheels' entries other than the `.dist-info`
/// files parsed here are not inflated now (`Depth::Light`: each wheel is
/// still read whole, hashed and its layout checked).
pub(crate) fn verify_for_build(inputs: &VerifyInputs) -> Result<VerifiedWheelhouse> {
    verify_with(inputs, Depth::Light)
}

fn verify_with(inputs: &VerifyInputs, depth: Depth) -> Result<VerifiedWheelhouse> {
    // 1. Signature over the exact bytes of the sums file.
    let sums_bytes = read_small(&inputs.sums, "wheel list")?;
    let sums_name = inputs.sums.display().to_string();
    let now = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let sig = signature::verify_detached_policy(
        &sums_bytes,
        &sums_name,
        &inputs.signature,
        &inputs.keyring,
        inputs.threshold,
        now,
        &inputs.signature_policy,
    )?;
    // 2. The signed list.
    let sums = sums::Sums::parse(&sums_bytes, &sums_name)?;
    // 3. The lock, evaluated for the target.
    let lock_bytes = read_small(&inputs.lock, "lock")?;
    let lock_name = inputs.lock.display().to_string();
    let locked = lock::parse_lock(&lock_bytes, &lock_name)?;
    let mut applicable = Vec::new();
    let mut skipped = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for r in locked {
        if !r.applies(&inputs.marker_env)? {
            skipped.push(format!("{}=={} ({})", r.name, r.version, r.origin));
            continue;
        }
        if let Some(prev) = seen.insert(r.normalized.clone(), r.origin.clone()) {
            return Err(verification(format!(
                "{}: {} pinned twice for this target: expected one pin, found {prev} and {}",
                lock_name, r.name, r.origin
            )));
        }
        applicable.push(r);
    }
    // 4. The wheelhouse: candidates by name and version.
    let wh = &inputs.wheelhouse;
    let all_whl = wheel_names(wh)?;
    let files: Vec<(String, WheelName)> = all_whl
        .iter()
        .filter_map(|name| Some((name.clone(), WheelName::parse(name).ok()?)))
        .collect();
    let mut candidates: Vec<Vec<usize>> = Vec::new();
    let mut to_read: Vec<usize> = Vec::new();
    for r in &applicable {
        let want_v = canonical_version(&r.version);
        let c: Vec<usize> = files
            .iter()
            .enumerate()
            .filter(|(_, (_, w))| {
                w.normalized_name() == r.normalized && w.canonical_version() == want_v
            })
            .map(|(i, _)| i)
            .collect();
        to_read.extend(&c);
        candidates.push(c);
    }
    to_read.sort();
    to_read.dedup();
    let mut errors: Vec<String> = Vec::new();
    // Candidates must be regular files in the wheelhouse (no symlinks out).
    let mut paths = Vec::new();
    let mut readable = Vec::new();
    for &i in &to_read {
        let p = wh.join(&files[i].0);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_file() => {
                paths.push(p);
                readable.push(i);
            }
            Ok(_) => errors.push(format!(
                "{}: expected a regular file, found a symlink or special file",
                p.display()
            )),
            Err(e) => errors.push(format!("{}: {e}", p.display())),
        }
    }
    let results = read_all(&paths, inputs.max_uncompressed, depth);
    let mut contents: BTreeMap<usize, Result<WheelContents>> = BTreeMap::new();
    for (i, r) in readable.into_iter().zip(results) {
        contents.insert(i, r);
    }
    // 5. Double verification: lock hash, then signed list.
    let mut requirements = Vec::new();
    let mut selected: BTreeSet<String> = BTreeSet::new();
    for (r, cands) in applicable.iter().zip(&candidates) {
        let mut wheels = Vec::new();
        let errors_before = errors.len();
        for &i in cands {
            let fname = &files[i].0;
            let path = wh.join(fname);
            let c = match contents.get(&i) {
                Some(Ok(c)) => c,
                Some(Err(e)) => {
                    // Hash before parse: a file that is not the pinned and
                    // signed one is reported as that, not as a bad zip.
                    let msg =
                        match hash_mismatch(&path, r, sums.entries.get(fname.as_str()), &sums_name)
                        {
                            Some(m) => m,
                            None => {
                                let msg = format!("{e:#}");
                                msg.strip_prefix("verification failed: ")
                                    .unwrap_or(&msg)
                                    .to_string()
                            }
                        };
                    if !errors.contains(&msg) {
                        errors.push(msg);
                    }
                    continue;
                }
                None => continue,
            };
            let sha = c.summary.sha256;
            let mut locked_match = false;
            for h in &r.hashes {
                if h.file_name.as_deref().is_some_and(|n| n != fname) {
                    continue;
                }
                let digest_ok = if h.hash.algorithm == HashAlgorithm::Sha256 {
                    h.hash.digest == sha
                } else {
                    match hash_file(&path, h.hash.algorithm) {
                        Ok(d) => d == h.hash.digest,
                        Err(e) => {
                            errors.push(format!("{e:#}"));
                            false
                        }
                    }
                };
                if digest_ok {
                    if let Some(sz) = h.size {
                        if sz != c.summary.file_size {
                            errors.push(format!(
                                "{}: size expected {sz} ({}), found {}",
                                path.display(),
                                r.origin,
                                c.summary.file_size
                            ));
                            continue;
                        }
                    }
                    locked_match = true;
                }
            }
            let signed = sums.entries.get(fname.as_str());
            if !locked_match {
                if signed.is_some_and(|s| s.sha256 == sha) {
                    continue; // a signed wheel this lock does not pin: left alone
                }
                errors.push(mismatch_message(&path, r, &sha, signed, &sums_name));
                continue;
            }
            match signed {
                None => {
                    errors.push(format!(
                        "{}: expected in the signed list {sums_name} with sha256:{}, found no line for it",
                        path.display(),
                        hex(&sha)
                    ));
                    continue;
                }
                Some(s) if s.sha256 != sha => {
                    errors.push(format!(
                        "{}: sha256 expected {} ({sums_name} line {}), found {}",
                        path.display(),
                        hex(&s.sha256),
                        s.line,
                        hex(&sha)
                    ));
                    continue;
                }
                Some(_) => {}
            }
            selected.insert(fname.clone());
            wheels.push(VerifiedWheel {
                file_name: fname.clone(),
                path,
                sha256: sha,
                size: c.summary.file_size,
                uncompressed_size: c.summary.uncompressed_size,
                wheel_name: c.file_name.clone(),
                dist_name: c.file_name.normalized_name(),
                version: c.metadata.version.clone(),
                dist_info: c.dist_info.clone(),
                metadata: c.metadata.clone(),
                wheel_info: c.wheel_info.clone(),
                record: c.record.clone(),
                record_sha256: c.record_sha256,
                entry_points: c.entry_points.clone(),
                max_uncompressed: inputs.max_uncompressed,
            });
        }
        // (When a candidate failed, that failure is the message.)
        if wheels.is_empty() && errors.len() == errors_before {
            let expected: Vec<String> = r.hashes.iter().map(|h| h.hash.to_string()).collect();
            let cand: Vec<&str> = cands.iter().map(|&i| files[i].0.as_str()).collect();
            errors.push(format!(
                "{}=={} ({}): expected a wheel in {} with sha256 one of [{}] that is in the signed list, found {}",
                r.name,
                r.version,
                r.origin,
                wh.display(),
                expected.join(", "),
                if cand.is_empty() {
                    "no wheel of that name and version".to_string()
                } else {
                    format!("none among {}", cand.join(", "))
                }
            ));
        }
        requirements.push(VerifiedRequirement {
            name: r.normalized.clone(),
            display_name: r.name.clone(),
            version: r.version.clone(),
            extras: r.extras.clone(),
            marker: r.marker.clone(),
            origin: r.origin.clone(),
            wheels,
        });
    }
    if !errors.is_empty() {
        let mut seen = BTreeSet::new();
        errors.retain(|e| seen.insert(e.clone()));
        return Err(verification(if errors.len() == 1 {
            errors.remove(0)
        } else {
            format!("{} problems:\n  {}", errors.len(), errors.join("\n  "))
        }));
    }
    let unselected = all_whl
        .into_iter()
        .filter(|n| !selected.contains(n))
        .collect();
    Ok(VerifiedWheelhouse {
        wheelhouse: wh.clone(),
        signers: sig.good.iter().map(|g| g.key.clone()).collect(),
        signatures: sig.good,
        unknown_signers: sig.unknown,
        requirements,
        skipped,
        unselected,
        marker_env: inputs.marker_env.clone(),
        reference_time: sig.reference_time,
        at: inputs.signature_policy.at,
    })
}
