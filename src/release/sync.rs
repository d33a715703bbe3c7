//! `venvdeb wheels sync`: bring a local wheelhouse up to date with a
//! static index that `venvdeb wheels index --sums … --signature …`
//! published, trusting nothing but the keyring given.
//!
//! Order of work: fetch `sha256sums.txt` and `sha256sums.txt.asc` from the
//! index root (the URL pip takes as `--index-url`), check the signature
//! against the keyring (`crate::verify::signature`, the same code as
//! `venvdeb verify`) and parse the list (`crate::verify::sums`); only then
//! fetch each listed wheel that is missing from the output directory or
//! differs, from `<root>/<normalized project>/<file>`, hashing it while it
//! streams. Memory does not grow with wheel size.
//!
//! On disk: downloads go to `DIR/.venvdeb-sync/<sha256>.part`, named by the
//! sha256 the signed list expects. A finished download whose sha256 matches
//! is renamed to `.venvdeb-sync/<sha256>.whl`; when every listed wheel is
//! there, each is renamed into `DIR/<file>`, then the list and its signature
//! are written as `DIR/sha256sums.txt{,.asc}` (so DIR is a wheelhouse that
//! `venvdeb build` verifies again).
//!
//! - **Resumable:** an interrupted transfer (connection closed, timeout,
//!   5xx) leaves its `.part`; the next attempt (a retry, or the next run)
//!   asks for the rest with `Range: bytes=N-` and, on `206` with a matching
//!   `Content-Range`, appends to it (the prefix is re-hashed from disk);
//!   a server that answers `200` instead sends the whole file again, and
//!   the part is restarted. A resumed file whose sha256 does not match is
//!   fetched once more from byte 0 before it counts as a mismatch.
//! - **Idempotent:** a wheel already in DIR with the listed sha256 is not
//!   fetched; a second run fetches only the list and its signature.
//! - **Bounded:** `retries` more attempts per file after a transient error
//!   (backoff 1, 2, 4 … 30 s; an attempt that made progress does not use
//!   one up, unless retries are 0), a connect timeout and an idle (per-read) timeout, a size cap
//!   per wheel and per list.
//! - **Fail closed:** a bad signature, a malformed list, a listed name that
//!   is not a plain wheel file name, a wheel whose bytes do not match, a
//!   body larger than the cap or a redirect to another scheme, host or port
//!   is a verification failure (exit 3): the staging directory is removed
//!   and DIR is left as it was (removed again if this run created it empty).
//!   Any other error keeps the partial downloads for the next run, but an
//!   empty staging directory (and DIR, if this run created it) is removed.
//! - **One at a time:** the run holds an exclusive `flock` on DIR; a second
//!   sync into the same DIR says so and waits for the first.
//!
//! Transport: `http://`, `https://` (ureq with rustls and the platform's
//! certificate verifier, i.e. the system CA store on Debian) and `file://`.
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest, Sha256};

use super::index::{url_escape, SIGNATURE_NAME, SUMS_NAME};
use crate::encoding::{hex, Hashing};
use crate::exit::verification;
use crate::verify::signature::verify_detached;
use crate::verify::sums::{is_plain_file_name, Sums};
use crate::wheel::name::WheelName;

/// Name of the staging directory inside the output directory.
pub(crate) const STAGING: &str = ".venvdeb-sync";

/// Largest list or signature fetched.
const MAX_LIST: u64 = 64 << 20;
/// Most redirects followed (each within the index's scheme, host and port).
const MAX_REDIRECTS: u32 = 5;

/// What to sync.
#[derive(Debug, Clone)]
pub(crate) struct SyncOptions {
    /// The index root URL (`http://`, `https://` or `file://`).
    pub index: String,
    pub keyring: PathBuf,
    pub output: PathBuf,
    /// Distinct keyring keys that must have signed the list.
    pub threshold: usize,
    /// More attempts per file after a transient error.
    pub retries: u32,
    /// Connect timeout, and longest wait for any read.
    pub timeout: Duration,
    /// Largest wheel accepted.
    pub max_size: u64,
    /// Sync only these listed files (each must be in the signed list);
    /// `None`: every listed file.
    pub only: Option<BTreeMap<String, String>>,
    /// Show progress on stderr (only when it is a terminal).
    pub progress: bool,
}

/// What a sync did.
#[derive(Debug, Clone, Default)]
pub(crate) struct SyncReport {
    /// Files the signed list names (after `only`).
    pub wanted: Vec<String>,
    /// Files fetched in this run (some perhaps resumed).
    pub fetched: Vec<String>,
    /// Files whose download resumed a partial one.
    pub resumed: Vec<String>,
    /// Bytes received for wheels in this run.
    pub bytes: u64,
    /// Primary-key fingerprints of the good signatures.
    pub signers: Vec<String>,
    /// sha256 of the signed list's bytes.
    pub sums_sha256: String,
}

/// Sync `o.output` with the index; see the module documentation.
pub(crate) fn sync(o: &SyncOptions) -> Result<SyncReport> {
    let source = Source::new(&o.index, o.timeout)?;
    let created = !o.output.exists();
    fs::create_dir_all(&o.output)
        .with_context(|| format!("creating the output directory {}", o.output.display()))?;
    let _lock = lock_dir(&o.output)?;
    let staging = o.output.join(STAGING);
    fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;
    let result = sync_into(o, &source, &staging);
    if let Err(e) = &result {
        if crate::exit::code_for(e) == 3 {
            let _ = fs::remove_dir_all(&staging);
        } else {
            // Partial downloads stay for a resumed run; an empty staging
            // directory (nothing fetched, e.g. a TLS error) does not.
            let _ = fs::remove_dir(&staging);
        }
        if created {
            // Only removes it when empty.
            let _ = fs::remove_dir(&o.output);
        }
    }
    result
}

/// An exclusive lock on the output directory (flock on its descriptor),
/// held until the returned file is dropped: a second sync into the same
/// directory waits for the first instead of sharing its staging files.
fn lock_dir(dir: &Path) -> Result<fs::File> {
    use std::os::fd::AsRawFd;
    let f = fs::File::open(dir).with_context(|| format!("opening {}", dir.display()))?;
    // flock(2) through libc: std's File::lock needs Rust 1.89, above the
    // MSRV (trixie's rustc 1.85).
    let flock = |op| {
        // SAFETY: flock on a descriptor this function owns; no memory passed.
        if unsafe { libc::flock(f.as_raw_fd(), op) } == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    };
    match flock(libc::LOCK_EX | libc::LOCK_NB) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            eprintln!(
                "venvdeb: waiting for another sync into {} to finish",
                dir.display()
            );
            flock(libc::LOCK_EX).with_context(|| format!("locking {}", dir.display()))?;
        }
        Err(e) => return Err(e).with_context(|| format!("locking {}", dir.display())),
    }
    Ok(f)
}

fn sync_into(o: &SyncOptions, source: &Source, staging: &Path) -> Result<SyncReport> {
    let mut report = SyncReport::default();
    // 1. The list and its signature, verified before anything else.
    let sums_bytes = source.fetch_small(SUMS_NAME, o.retries)?;
    let sig_bytes = source.fetch_small(SIGNATURE_NAME, o.retries)?;
    let sums_url = source.describe(SUMS_NAME);
    let sig_path = staging.join(SIGNATURE_NAME);
    fs::write(&sig_path, &sig_bytes).with_context(|| format!("writing {}", sig_path.display()))?;
    let sig = verify_detached(
        &sums_bytes,
        &sums_url,
        &sig_path,
        &o.keyring,
        o.threshold,
        SystemTime::now(),
    )
    .with_context(|| {
        format!(
            "checking {sums_url} and its signature {} against {}",
            source.describe(SIGNATURE_NAME),
            o.keyring.display()
        )
    })?;
    let _ = fs::remove_file(&sig_path);
    report.signers = sig.good.iter().map(|g| g.key.clone()).collect();
    report.sums_sha256 = hex(&Sha256::digest(&sums_bytes));
    let sums = Sums::parse(&sums_bytes, &sums_url)?;

    // 2. What to fetch: every listed wheel (or the ones asked for).
    let mut wanted: Vec<Wanted> = Vec::new();
    for (name, entry) in &sums.entries {
        if let Some(only) = &o.only {
            if !only.contains_key(name) {
                continue;
            }
        }
        let project = listed_project(name, entry.line, &sums_url)?;
        wanted.push(Wanted {
            name: name.clone(),
            project,
            sha256: hex(&entry.sha256),
        });
    }
    if let Some(only) = &o.only {
        for (name, sha) in only {
            match wanted.iter().find(|w| &w.name == name) {
                None => {
                    return Err(verification(format!(
                        "{sums_url}: does not list {name} (expected sha256 {sha})"
                    )))
                }
                Some(w) if &w.sha256 != sha => {
                    return Err(verification(format!(
                        "{sums_url}: {name}: expected sha256 {sha}, the signed list has {}",
                        w.sha256
                    )))
                }
                Some(_) => {}
            }
        }
    }
    report.wanted = wanted.iter().map(|w| w.name.clone()).collect();
    clean_staging(staging, &wanted)?;

    // 3. Fetch what is missing or differs, into staging.
    let mut progress = Progress::new(o.progress, wanted.len());
    let mut to_place: Vec<&Wanted> = Vec::new();
    for (i, w) in wanted.iter().enumerate() {
        let dest = o.output.join(&w.name);
        if dest.is_file() && sha256_of(&dest)? == w.sha256 {
            continue;
        }
        let done = staging.join(format!("{}.whl", w.sha256));
        if !(done.is_file() && sha256_of(&done)? == w.sha256) {
            progress.start(i, &w.name);
            let got = fetch_wheel(o, source, staging, w, &mut progress)?;
            report.bytes += got.bytes;
            if got.resumed {
                report.resumed.push(w.name.clone());
            }
            report.fetched.push(w.name.clone());
        }
        to_place.push(w);
    }
    progress.finish();

    // 4. Everything is here and matches: move into place, list last.
    for w in to_place {
        let done = staging.join(format!("{}.whl", w.sha256));
        let dest = o.output.join(&w.name);
        if dest.is_dir() {
            bail!("{}: is a directory, expected a wheel", dest.display());
        }
        fs::rename(&done, &dest)
            .with_context(|| format!("renaming {} to {}", done.display(), dest.display()))?;
    }
    crate::atomic::write(&o.output.join(SUMS_NAME), &sums_bytes)?;
    crate::atomic::write(&o.output.join(SIGNATURE_NAME), &sig_bytes)?;
    let _ = fs::remove_dir(staging);
    Ok(report)
}

/// Whether `s` is an http://, https:// or file:// URL (not a local path).
pub(crate) fn is_url(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://") || l.starts_with("file://")
}

/// Fetch one file by URL into `dir` under its own (last path segment) name;
/// nothing is verified but the transfer's length. Returns the path.
pub(crate) fn fetch_file(
    url: &str,
    dir: &Path,
    timeout: Duration,
    retries: u32,
) -> Result<PathBuf> {
    let clean = url.split(['#', '?']).next().unwrap_or(url);
    let (base, last) = clean
        .rsplit_once('/')
        .with_context(|| format!("{url}: no file name in the URL"))?;
    let name = percent_decode(last)?;
    if !is_plain_file_name(&name) || name.starts_with('.') {
        bail!("{url}: {name:?} is not a plain file name");
    }
    let source = Source::new(&format!("{base}/"), timeout)?;
    let dest = dir.join(&name);
    with_retries(retries, || {
        source.open(&name, 0).and_then(|o| {
            let mut f = crate::atomic::AtomicFile::create(&dest).map_err(AttemptError::Fatal)?;
            let n = std::io::copy(&mut o.reader.take(u64::MAX), f.file()).map_err(|e| {
                AttemptError::Transient(anyhow!(e).context(format!("fetching {url}")), false)
            })?;
            if o.length.is_some_and(|l| l != n) {
                return Err(AttemptError::Transient(
                    anyhow!("{url}: the transfer ended after {n} bytes"),
                    false,
                ));
            }
            f.commit().map_err(AttemptError::Fatal)
        })
    })?;
    Ok(dest)
}

/// One listed wheel to have.
#[derive(Debug, Clone)]
struct Wanted {
    name: String,
    project: String,
    sha256: String,
}

/// The normalized project name a listed file lives under; a name that is
/// not a plain wheel file name is a verification failure.
fn listed_project(name: &str, line: usize, what: &str) -> Result<String> {
    if !is_plain_file_name(name) || name.starts_with('.') {
        return Err(verification(format!(
            "{what} line {line}: {name:?} is not a plain file name"
        )));
    }
    let wn = WheelName::parse(name).map_err(|e| {
        verification(format!(
            "{what} line {line}: {name:?} is not a wheel file name: {e:#}"
        ))
    })?;
    Ok(wn.normalized_name())
}

/// Remove staged files that belong to no wanted wheel (older lists).
fn clean_staging(staging: &Path, wanted: &[Wanted]) -> Result<()> {
    let keep: BTreeSet<String> = wanted
        .iter()
        .flat_map(|w| [format!("{}.part", w.sha256), format!("{}.whl", w.sha256)])
        .collect();
    for e in fs::read_dir(staging).with_context(|| format!("listing {}", staging.display()))? {
        let e = e.with_context(|| format!("listing {}", staging.display()))?;
        let name = e.file_name();
        if !name.to_str().is_some_and(|n| keep.contains(n)) {
            let p = e.path();
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            }
            .with_context(|| format!("removing the stale {}", p.display()))?;
        }
    }
    Ok(())
}

fn sha256_of(path: &Path) -> Result<String> {
    Ok(crate::encoding::sha256_file(path)?.0)
}

struct Fetched {
    bytes: u64,
    resumed: bool,
}

/// Why one attempt at a file failed.
enum AttemptError {
    /// Worth another attempt (network, timeout, 5xx, body cut short).
    Transient(anyhow::Error, bool),
    /// Not worth one (verification failure, 404, local I/O).
    Fatal(anyhow::Error),
}

/// Fetch one wheel into `staging/<sha256>.whl`, resuming its `.part`.
fn fetch_wheel(
    o: &SyncOptions,
    source: &Source,
    staging: &Path,
    w: &Wanted,
    progress: &mut Progress,
) -> Result<Fetched> {
    let rel = format!("{}/{}", w.project, w.name);
    let part = staging.join(format!("{}.part", w.sha256));
    let done = staging.join(format!("{}.whl", w.sha256));
    let mut failures = 0u32;
    let mut restarted_after_mismatch = false;
    let mut total = 0u64;
    let mut resumed = false;
    loop {
        let offset = fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
        if offset > 0 {
            resumed = true;
        }
        match attempt(o, source, &rel, &part, offset, progress) {
            Ok((got, sha)) => {
                total += got;
                if sha == w.sha256 {
                    fs::rename(&part, &done).with_context(|| {
                        format!("renaming {} to {}", part.display(), done.display())
                    })?;
                    return Ok(Fetched {
                        bytes: total,
                        resumed,
                    });
                }
                let _ = fs::remove_file(&part);
                if offset > 0 && !restarted_after_mismatch {
                    // The kept prefix may be what is wrong: once more from 0.
                    restarted_after_mismatch = true;
                    resumed = false;
                    continue;
                }
                return Err(verification(format!(
                    "{}: expected sha256 {} (signed list), received sha256 {sha}",
                    source.describe(&rel),
                    w.sha256
                )));
            }
            Err(AttemptError::Fatal(e)) => return Err(e),
            Err(AttemptError::Transient(e, progressed)) => {
                if progressed && o.retries > 0 {
                    failures = 0;
                } else {
                    failures += 1;
                }
                if failures > o.retries {
                    return Err(e.context(format!(
                        "fetching {} ({} attempt{}; the partial download is kept in {} and the next run resumes it)",
                        source.describe(&rel),
                        o.retries + 1,
                        if o.retries == 0 { "" } else { "s" },
                        part.display()
                    )));
                }
                let wait = Duration::from_secs((1u64 << failures.min(5)).min(30) / 2);
                progress.note(&format!("{e:#}; retrying in {}s", wait.as_secs()));
                std::thread::sleep(wait);
            }
        }
    }
}

/// One request for `rel` from byte `offset` appended to `part`; returns the
/// bytes received and the sha256 of the whole part file.
fn attempt(
    o: &SyncOptions,
    source: &Source,
    rel: &str,
    part: &Path,
    offset: u64,
    progress: &mut Progress,
) -> std::result::Result<(u64, String), AttemptError> {
    let fatal = AttemptError::Fatal;
    let opened = source.open(rel, offset)?;
    let start = opened.start;
    if let Some(len) = opened.length {
        if start + len > o.max_size {
            return Err(fatal(verification(format!(
                "{}: {} bytes: more than the {} allowed for one wheel",
                source.describe(rel),
                start + len,
                o.max_size
            ))));
        }
    }
    let mut f = OpenOptions::new()
        .create(true)
        .write(true)
        .read(true)
        .truncate(false)
        .open(part)
        .with_context(|| format!("opening {}", part.display()))
        .map_err(fatal)?;
    // Keep the first `start` bytes (hashed again from disk, which leaves
    // the file at `start`), drop the rest; then hash and append the body.
    f.set_len(start)
        .and_then(|_| f.seek(SeekFrom::Start(0)))
        .with_context(|| format!("truncating {}", part.display()))
        .map_err(fatal)?;
    let mut f = Hashing::new(f);
    std::io::copy(&mut (&mut f).take(start), &mut std::io::sink())
        .with_context(|| format!("reading {}", part.display()))
        .map_err(fatal)?;
    let mut buf = vec![0u8; 256 << 10];
    let mut reader = opened.reader;
    let mut got = 0u64;
    let total = opened.length.map(|l| start + l);
    loop {
        let n = match reader.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = f.flush();
                return Err(AttemptError::Transient(
                    anyhow!(e).context(format!(
                        "{}: the transfer broke off after {} bytes",
                        source.describe(rel),
                        start + got
                    )),
                    got > 0,
                ));
            }
        };
        if n == 0 {
            break;
        }
        got += n as u64;
        if start + got > o.max_size {
            drop(f);
            let _ = fs::remove_file(part);
            return Err(fatal(verification(format!(
                "{}: more than the {} bytes allowed for one wheel",
                source.describe(rel),
                o.max_size
            ))));
        }
        f.write_all(&buf[..n])
            .with_context(|| format!("writing {}", part.display()))
            .map_err(fatal)?;
        progress.advance(start + got, total);
    }
    if let Some(t) = total {
        if start + got != t {
            return Err(AttemptError::Transient(
                anyhow!(
                    "{}: the transfer ended after {} of {t} bytes",
                    source.describe(rel),
                    start + got
                ),
                got > 0,
            ));
        }
    }
    let (sha256, _, f) = f.finish();
    f.sync_all()
        .with_context(|| format!("syncing {}", part.display()))
        .map_err(fatal)?;
    Ok((got, hex(&sha256)))
}

/// Run `attempt` until it succeeds, fails for good, or has failed
/// transiently `retries` + 1 times (backoff 0.5, 1, 2 … 16 s).
fn with_retries<T>(
    retries: u32,
    mut attempt: impl FnMut() -> std::result::Result<T, AttemptError>,
) -> Result<T> {
    let mut failures = 0;
    loop {
        match attempt() {
            Ok(v) => return Ok(v),
            Err(AttemptError::Fatal(e)) => return Err(e),
            Err(AttemptError::Transient(e, _)) => {
                failures += 1;
                if failures > retries {
                    return Err(e);
                }
                std::thread::sleep(Duration::from_millis(500 << failures.min(6)) / 2);
            }
        }
    }
}

/// An open transfer: the body from byte `start` of the file.
struct Opened {
    start: u64,
    /// Bytes still to come, when the server says.
    length: Option<u64>,
    reader: Box<dyn Read>,
}

/// Where the index is.
enum Source {
    Http {
        /// Root URL, ending in `/`.
        base: String,
        /// `scheme://authority` every request and redirect must stay on.
        origin: String,
        agent: ureq::Agent,
    },
    File {
        base: PathBuf,
    },
}

/// `scheme://authority` of an http(s) URL, lowercased.
fn origin_of(url: &str) -> Result<String> {
    let uri: ureq::http::Uri = url
        .parse()
        .with_context(|| format!("{url}: not a valid URL"))?;
    let scheme = uri
        .scheme_str()
        .with_context(|| format!("{url}: no scheme"))?
        .to_ascii_lowercase();
    let auth = uri
        .authority()
        .with_context(|| format!("{url}: no host"))?
        .as_str()
        .to_ascii_lowercase();
    if auth.contains('@') {
        bail!("{url}: credentials in the URL are not supported");
    }
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let auth = auth.strip_suffix(default_port).unwrap_or(&auth).to_string();
    Ok(format!("{scheme}://{auth}"))
}

/// Resolve a `Location` header against the URL it answered.
fn resolve(current: &str, location: &str) -> Result<String> {
    let lower = location.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Ok(location.to_string());
    }
    let scheme_end = current.find("://").context("URL without scheme")? + 3;
    if let Some(rest) = location.strip_prefix("//") {
        return Ok(format!("{}{rest}", &current[..scheme_end]));
    }
    let path_start = current[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(current.len());
    if location.starts_with('/') {
        return Ok(format!("{}{location}", &current[..path_start]));
    }
    let path = current.split(['?', '#']).next().unwrap_or(current);
    let dir_end = path.rfind('/').map(|i| i + 1).unwrap_or(path.len());
    Ok(format!("{}{location}", &path[..dir_end.max(path_start)]))
}

fn percent_decode(s: &str) -> Result<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .with_context(|| format!("{s}: bad percent-escape"))?;
            out.push(h);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).with_context(|| format!("{s}: not UTF-8 once decoded"))
}

impl Source {
    fn new(index: &str, timeout: Duration) -> Result<Source> {
        let lower = index.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix("file://") {
            let path = &index[index.len() - rest.len()..];
            if !path.starts_with('/') {
                bail!("--index {index}: a file URL needs an absolute path (file:///…)");
            }
            return Ok(Source::File {
                base: PathBuf::from(percent_decode(path)?),
            });
        }
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            bail!("--index {index}: expected an http://, https:// or file:// URL");
        }
        let mut base = index.split('#').next().unwrap_or(index).to_string();
        if base.contains('?') {
            bail!("--index {index}: a query string is not supported");
        }
        if !base.ends_with('/') {
            base.push('/');
        }
        let origin = origin_of(&base).with_context(|| format!("--index {index}"))?;
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .max_redirects_will_error(false)
            .http_status_as_error(false)
            .timeout_connect(Some(timeout))
            .timeout_recv_response(Some(timeout))
            .timeout_per_read(Some(timeout))
            .user_agent(format!("venvdeb/{}", env!("CARGO_PKG_VERSION")))
            .tls_config(tls)
            .build()
            .into();
        Ok(Source::Http {
            base,
            origin,
            agent,
        })
    }

    /// Where `rel` is, for messages.
    fn describe(&self, rel: &str) -> String {
        match self {
            Source::Http { base, .. } => format!("{base}{}", Self::escape_rel(rel)),
            Source::File { base } => base.join(rel).display().to_string(),
        }
    }

    fn escape_rel(rel: &str) -> String {
        rel.split('/').map(url_escape).collect::<Vec<_>>().join("/")
    }

    /// A small file (the list, the signature), whole, with retries.
    fn fetch_small(&self, rel: &str, retries: u32) -> Result<Vec<u8>> {
        with_retries(retries, || {
            self.open(rel, 0).and_then(|o| {
                if o.length.is_some_and(|l| l > MAX_LIST) {
                    return Err(AttemptError::Fatal(verification(format!(
                        "{}: larger than {MAX_LIST} bytes",
                        self.describe(rel)
                    ))));
                }
                let mut buf = Vec::new();
                o.reader
                    .take(MAX_LIST + 1)
                    .read_to_end(&mut buf)
                    .map_err(|e| {
                        AttemptError::Transient(
                            anyhow!(e).context(format!("reading {}", self.describe(rel))),
                            false,
                        )
                    })?;
                if buf.len() as u64 > MAX_LIST {
                    return Err(AttemptError::Fatal(verification(format!(
                        "{}: larger than {MAX_LIST} bytes",
                        self.describe(rel)
                    ))));
                }
                if let Some(l) = o.length {
                    if buf.len() as u64 != l {
                        return Err(AttemptError::Transient(
                            anyhow!(
                                "{}: the transfer ended after {} of {l} bytes",
                                self.describe(rel),
                                buf.len()
                            ),
                            false,
                        ));
                    }
                }
                Ok(buf)
            })
        })
    }

    /// Open `rel` from byte `offset` (the server may start at 0 instead).
    fn open(&self, rel: &str, offset: u64) -> std::result::Result<Opened, AttemptError> {
        match self {
            Source::File { base } => {
                let p = base.join(rel);
                let mut f = File::open(&p)
                    .with_context(|| format!("opening {}", p.display()))
                    .map_err(AttemptError::Fatal)?;
                let len = f
                    .metadata()
                    .with_context(|| format!("reading {}", p.display()))
                    .map_err(AttemptError::Fatal)?
                    .len();
                let start = if offset <= len { offset } else { 0 };
                f.seek(SeekFrom::Start(start))
                    .with_context(|| format!("seeking in {}", p.display()))
                    .map_err(AttemptError::Fatal)?;
                Ok(Opened {
                    start,
                    length: Some(len - start),
                    reader: Box::new(f),
                })
            }
            Source::Http {
                base,
                origin,
                agent,
            } => {
                let mut url = format!("{base}{}", Self::escape_rel(rel));
                let mut hops = 0;
                loop {
                    let mut req = agent.get(&url);
                    if offset > 0 {
                        req = req.header("Range", format!("bytes={offset}-"));
                    }
                    let resp = req.call().map_err(|e| {
                        AttemptError::Transient(anyhow!(e).context(format!("GET {url}")), false)
                    })?;
                    let status = resp.status().as_u16();
                    let header = |k: &str| {
                        resp.headers()
                            .get(k)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string)
                    };
                    match status {
                        301 | 302 | 303 | 307 | 308 => {
                            let loc = header("location").ok_or_else(|| {
                                AttemptError::Fatal(anyhow!(
                                    "GET {url}: redirect ({status}) without a Location"
                                ))
                            })?;
                            let next = resolve(&url, &loc).map_err(AttemptError::Fatal)?;
                            let there = origin_of(&next).map_err(AttemptError::Fatal)?;
                            if &there != origin {
                                return Err(AttemptError::Fatal(verification(format!(
                                    "GET {url}: redirected to {next}: expected a location on {origin}, found one on {there}"
                                ))));
                            }
                            hops += 1;
                            if hops > MAX_REDIRECTS {
                                return Err(AttemptError::Fatal(anyhow!(
                                    "GET {url}: more than {MAX_REDIRECTS} redirects"
                                )));
                            }
                            url = next;
                        }
                        200 => {
                            let length = header("content-length").and_then(|v| v.parse().ok());
                            let (_, body) = resp.into_parts();
                            return Ok(Opened {
                                start: 0,
                                length,
                                reader: Box::new(body.into_reader()),
                            });
                        }
                        206 if offset > 0 => {
                            let range = header("content-range").unwrap_or_default();
                            let first = range
                                .strip_prefix("bytes ")
                                .and_then(|r| r.split('-').next())
                                .and_then(|s| s.parse::<u64>().ok());
                            if first != Some(offset) {
                                // Not the range asked for: start over.
                                return self.open_from_zero(rel);
                            }
                            let length = header("content-length").and_then(|v| v.parse().ok());
                            let (_, body) = resp.into_parts();
                            return Ok(Opened {
                                start: offset,
                                length,
                                reader: Box::new(body.into_reader()),
                            });
                        }
                        416 if offset > 0 => return self.open_from_zero(rel),
                        408 | 429 | 500..=599 => {
                            return Err(AttemptError::Transient(
                                anyhow!("GET {url}: HTTP {status}"),
                                false,
                            ))
                        }
                        _ => {
                            return Err(AttemptError::Fatal(anyhow!(
                                "GET {url}: HTTP {status}: expected 200"
                            )))
                        }
                    }
                }
            }
        }
    }

    fn open_from_zero(&self, rel: &str) -> std::result::Result<Opened, AttemptError> {
        self.open(rel, 0)
    }
}

/// Progress on stderr when it is a terminal; silent otherwise.
struct Progress {
    on: bool,
    count: usize,
    index: usize,
    name: String,
    last: Option<Instant>,
}

impl Progress {
    fn new(wanted: bool, count: usize) -> Progress {
        Progress {
            on: wanted && std::io::stderr().is_terminal(),
            count,
            index: 0,
            name: String::new(),
            last: None,
        }
    }

    fn start(&mut self, index: usize, name: &str) {
        self.index = index;
        self.name = name.to_string();
        self.last = None;
        self.advance(0, None);
    }

    fn advance(&mut self, done: u64, total: Option<u64>) {
        if !self.on {
            return;
        }
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < Duration::from_millis(200))
            && total != Some(done)
        {
            return;
        }
        self.last = Some(now);
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        let size = match total {
            Some(t) => format!("{:.1}/{:.1} MiB", mib(done), mib(t)),
            None => format!("{:.1} MiB", mib(done)),
        };
        eprint!(
            "\r\x1b[Kvenvdeb: [{}/{}] {} {size}",
            self.index + 1,
            self.count,
            self.name
        );
    }

    fn note(&mut self, msg: &str) {
        if self.on {
            eprintln!("\r\x1b[Kvenvdeb: {}: {msg}", self.name);
        } else {
            eprintln!("venvdeb: {}: {msg}", self.name);
        }
    }

    fn finish(&mut self) {
        if self.on && self.last.is_some() {
            eprintln!("\r\x1b[K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_redirect_targets() {
        assert_eq!(
            origin_of("HTTP://Example.org:80/simple/").unwrap(),
            "http://example.org"
        );
        assert_eq!(
            origin_of("https://example.org:8443/x").unwrap(),
            "https://example.org:8443"
        );
        assert!(origin_of("https://u:p@example.org/").is_err());
        let cur = "http://127.0.0.1:8000/simple/a/a-1-py3-none-any.whl";
        assert_eq!(
            resolve(cur, "/mirror/a.whl").unwrap(),
            "http://127.0.0.1:8000/mirror/a.whl"
        );
        assert_eq!(
            resolve(cur, "b.whl").unwrap(),
            "http://127.0.0.1:8000/simple/a/b.whl"
        );
        assert_eq!(
            resolve(cur, "//evil.example/x").unwrap(),
            "http://evil.example/x"
        );
        assert_ne!(
            origin_of(&resolve(cur, "http://localhost:8000/x").unwrap()).unwrap(),
            origin_of(cur).unwrap()
        );
    }

    #[test]
    fn listed_names_must_be_plain_wheel_names() {
        assert_eq!(
            listed_project("Foo.Bar-1.0-py3-none-any.whl", 1, "l").unwrap(),
            "foo-bar"
        );
        for bad in [
            "../a-1-py3-none-any.whl",
            "sub/a-1-py3-none-any.whl",
            ".a-1-py3-none-any.whl",
            "a.tar.gz",
        ] {
            let e = listed_project(bad, 3, "l").unwrap_err();
            assert_eq!(crate::exit::code_for(&e), 3, "{bad}: {e:#}");
        }
    }

    #[test]
    fn file_urls_decode() {
        match Source::new("file:///tmp/a%20b/simple", Duration::from_secs(1)).unwrap() {
            Source::File { base } => assert_eq!(base, Path::new("/tmp/a b/simple")),
            Source::Http { .. } => panic!("file URL taken for http"),
        }
        assert!(Source::new("file://relative/x", Duration::from_secs(1)).is_err());
        assert!(Source::new("ftp://example.org/", Duration::from_secs(1)).is_err());
    }
}
