//! Wheel entries installed without their bytes (`venvdeb build`): the
//! staging tree on disk does not hold them (`crate::tree::Absent` lists
//! them, with their final names and modes), and the bytes are read from
//! the verified wheel only when the .deb writer archives that file
//! ([`WheelBytes`], a `deb::DataSource`): each entry inflated once,
//! straight into data.tar, with random access (a seek to its local
//! header), checked on the way against the verified RECORD (size, CRC,
//! hash) and, for files whose installed bytes differ from the entry's
//! (`#!python` scripts) or whose RECORD hash is not sha256, against the
//! sha256 and size computed when the installer planned them. Any
//! difference fails the build: the outputs are uncommitted temporary files.
//!
//! The plan of each file (its wheel, checked central-directory entry,
//! RECORD hash, planned sha256) is not kept in memory but in an unlinked
//! scratch file in the staging directory, written as the plan is made and
//! read by position by the reading threads ([`crate::spill`]): the memory
//! of a build must not grow with the size of the package.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::scripts::copy_installed;
use crate::encoding::{hex, Hashing};
use crate::exit::verification;
use crate::spill::{Fields, Spill, SpillWriter};
use crate::wheel::archive::{read_entry_at, Entry, EntryAt, Expected};
use crate::wheel::record::{HashAlgorithm, HashValue};
use anyhow::{anyhow, bail, Result};

/// One installed file whose bytes stay in its wheel until archived.
#[derive(Debug, Clone)]
pub(crate) struct Deferred {
    /// Where it is in the staging tree (not on disk).
    pub path: PathBuf,
    /// Installed 0755 (else 0644).
    pub executable: bool,
    /// Shared by the entries of one wheel.
    pub wheel: Arc<Path>,
    /// The entry, as the installer's read of the wheel's central
    /// directory checked it (the reading threads seek to it directly).
    pub entry: Entry,
    /// A `.data/scripts` file: `#!python` first line rewritten.
    pub script: bool,
    /// The installed bytes' size and sha256.
    pub size: u64,
    pub sha256: [u8; 32],
    /// What RECORD says the entry's bytes are.
    pub expected: Option<Expected>,
    /// Compare the installed bytes' sha256 when archiving (scripts, and
    /// entries without a sha256 RECORD hash, which the entry reader does
    /// not cover).
    pub check_sha256: bool,
    /// `path` ends with `/` and the entry's name (a file installed under
    /// its own name in site-packages): the plan need not keep the name.
    pub name_at_end: bool,
}

/// Whether `path` ends with `/<name>`.
pub(crate) fn name_at_end(path: &Path, name: &str) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let p = path.as_os_str().as_bytes();
    let n = name.as_bytes();
    p.len() > n.len() && p.ends_with(n) && p[p.len() - n.len() - 1] == b'/'
}

/// The absent tree of `deferred` files, all under `base` (the venv).
pub(crate) fn absent<'a>(
    base: &Path,
    deferred: impl IntoIterator<Item = &'a Deferred>,
) -> Result<crate::tree::Absent> {
    crate::tree::Absent::new(
        base,
        deferred
            .into_iter()
            .map(|d| (d.path.clone(), d.size, d.executable)),
    )
}

/// Open wheel files kept per reading thread (most recently used first):
/// consecutive files of the archive mostly come from one wheel. Only the
/// file is kept: each deferred file carries its checked central-directory
/// entry.
const MAX_OPEN: usize = 8;

/// The deferred files of a build, numbered as in their absent tree. Their
/// plan is not in memory, which must not grow with the package: a
/// fixed-size record per file ([`Plan`]) and the strings it needs (entry
/// names, RECORD digests, planned sha256s) are in an unlinked scratch file
/// in the staging directory ([`crate::spill`]), which the reading threads
/// read by position. In memory stay the wheels' paths, the interpreter and
/// the absent tree (which the walk needs anyway).
pub(crate) struct WheelBytes {
    /// The records, then their strings.
    plan: Spill,
    /// The wheels the files come from.
    wheels: Vec<Arc<Path>>,
    /// The same files (and their directories) by directory, for the walk.
    absent: crate::tree::Absent,
    /// The venv's interpreter (`<prefix>/bin/python`), which a script's
    /// `#!python` line becomes.
    python: String,
}

/// What [`WheelBytes`]'s scratch file holds, for messages.
const PLAN: &str = "the deferred files' plan";

/// An entry's name: `len` bytes of the record's strings, or, for most
/// files (those installed under their own name in site-packages), the last
/// `len` bytes of the path the file is archived from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Name {
    Text(u32),
    PathTail(u32),
}

/// One [`Deferred`] file without its path (the absent tree has it), as
/// its record in the scratch file says ([`Plan::encode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Plan {
    /// Index in [`WheelBytes::wheels`].
    wheel: u32,
    name: Name,
    entry: EntryAt,
    script: bool,
    /// The installed bytes' size.
    size: u64,
    /// Where this file's strings start in the strings region: its name
    /// (for `Name::Text`), RECORD's digest, the planned sha256, back to back.
    strings: u64,
    /// RECORD's hash algorithm, the digest's length and the entry's size.
    expected: Option<(HashAlgorithm, u32, u64)>,
    /// The installed bytes' sha256 is compared on archiving
    /// (`Deferred::check_sha256`; 32 bytes in the strings).
    check_sha256: bool,
}

/// The bytes of a [`Plan`] record: wheel (4), name kind (1) and length
/// (4), strings' start (8), RECORD hash algorithm (1), digest length (4)
/// and entry size (8), planned sha256 flag (1), script flag (1), installed
/// size (8), then the entry ([`EntryAt::encode`]).
const PLAN_LEN: usize = 4 + 1 + 4 + 8 + 1 + 4 + 8 + 1 + 1 + 8 + EntryAt::ENCODED_LEN;

/// The length of a planned sha256 in the strings.
const SHA256_LEN: usize = 32;

/// A [`Plan`]'s strings, as read from the scratch file.
struct PlanStrings<'s> {
    /// Empty for `Name::PathTail`.
    name: &'s [u8],
    /// RECORD's digest (empty without an expected hash).
    digest: &'s [u8],
    /// The planned sha256 (empty unless `check_sha256`).
    sha256: &'s [u8],
}

impl Plan {
    /// Append the record, little-endian, [`PLAN_LEN`] bytes.
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.wheel.to_le_bytes());
        let (kind, len) = match self.name {
            Name::Text(len) => (0u8, len),
            Name::PathTail(len) => (1, len),
        };
        out.push(kind);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&self.strings.to_le_bytes());
        let (algorithm, digest_len, entry_size) = match self.expected {
            None => (0u8, 0, 0),
            Some((a, len, size)) => (algorithm_tag(a), len, size),
        };
        out.push(algorithm);
        out.extend_from_slice(&digest_len.to_le_bytes());
        out.extend_from_slice(&entry_size.to_le_bytes());
        out.push(u8::from(self.check_sha256));
        out.push(u8::from(self.script));
        out.extend_from_slice(&self.size.to_le_bytes());
        self.entry.encode(out);
    }

    /// Record number `index` again, checked: known tags, strings within
    /// the `strings_len` bytes of the strings region.
    fn decode(record: &[u8], index: u32, strings_len: u64) -> Result<Plan> {
        let corrupt =
            |what: anyhow::Error| anyhow!("internal: plan record {index} is corrupt ({what})");
        let plan = Plan::decode_fields(&mut Fields::new(record)).map_err(corrupt)?;
        let end = plan.strings.checked_add(plan.strings_len() as u64);
        if end.is_none_or(|end| end > strings_len) {
            return Err(corrupt(anyhow!(
                "its {} bytes of strings at {} are not within the {strings_len} bytes of strings",
                plan.strings_len(),
                plan.strings
            )));
        }
        Ok(plan)
    }

    /// The fields in [`Plan::encode`]'s order.
    fn decode_fields(f: &mut Fields) -> Result<Plan> {
        let wheel = f.u32()?;
        let name = match (f.u8()?, f.u32()?) {
            (0, len) => Name::Text(len),
            (1, len) => Name::PathTail(len),
            (kind, _) => bail!("name kind {kind} is neither 0 nor 1"),
        };
        let strings = f.u64()?;
        let (algorithm, digest_len, entry_size) = (f.u8()?, f.u32()?, f.u64()?);
        let expected = match algorithm {
            0 => None,
            tag => Some((algorithm_of(tag)?, digest_len, entry_size)),
        };
        let check_sha256 = f.flag()?;
        let script = f.flag()?;
        let size = f.u64()?;
        let entry = EntryAt::decode(f)?;
        f.end()?;
        Ok(Plan {
            wheel,
            name,
            entry,
            script,
            size,
            strings,
            expected,
            check_sha256,
        })
    }

    /// How many bytes of strings the record has.
    fn strings_len(&self) -> usize {
        self.name_len() + self.digest_len() + self.sha256_len()
    }

    /// The name's bytes in the strings.
    fn name_len(&self) -> usize {
        match self.name {
            Name::Text(len) => len as usize,
            Name::PathTail(_) => 0,
        }
    }

    /// RECORD's digest's bytes in the strings.
    fn digest_len(&self) -> usize {
        self.expected.map_or(0, |(_, len, _)| len as usize)
    }

    /// The planned sha256's bytes in the strings.
    fn sha256_len(&self) -> usize {
        usize::from(self.check_sha256) * SHA256_LEN
    }

    /// `strings` (the record's, [`Plan::strings_len`] bytes) in parts.
    fn split_strings<'s>(&self, strings: &'s [u8]) -> Option<PlanStrings<'s>> {
        let (name, rest) = strings.split_at_checked(self.name_len())?;
        let (digest, sha256) = rest.split_at_checked(self.digest_len())?;
        (sha256.len() == self.sha256_len()).then_some(PlanStrings {
            name,
            digest,
            sha256,
        })
    }
}

/// A RECORD hash algorithm's tag in a [`Plan`] record (0 is none).
fn algorithm_tag(a: HashAlgorithm) -> u8 {
    match a {
        HashAlgorithm::Sha256 => 1,
        HashAlgorithm::Sha384 => 2,
        HashAlgorithm::Sha512 => 3,
    }
}

/// The algorithm of a nonzero [`algorithm_tag`].
fn algorithm_of(tag: u8) -> Result<HashAlgorithm> {
    Ok(match tag {
        1 => HashAlgorithm::Sha256,
        2 => HashAlgorithm::Sha384,
        3 => HashAlgorithm::Sha512,
        _ => bail!("hash algorithm {tag} is not 0 to 3"),
    })
}

impl WheelBytes {
    /// `files` in the order `absent` numbers them (it was made from them);
    /// their plan goes to an unlinked file in `scratch` (a directory), and
    /// the absent tree's children to another.
    pub(crate) fn new(
        files: Vec<Deferred>,
        absent: crate::tree::Absent,
        python: &str,
        scratch: &Path,
    ) -> Result<WheelBytes> {
        if files.len() != absent.files() {
            bail!(
                "internal: {} deferred files, {} absent ones",
                files.len(),
                absent.files()
            );
        }
        let Ok(count) = u32::try_from(files.len()) else {
            bail!("more than 4 Gi files in one package");
        };
        let file = crate::atomic::unlinked_beside(&scratch.join("deferred-plan"))?;
        let mut out = SpillWriter::new(file, PLAN, PLAN_LEN, count);
        let mut wheels = Vec::new();
        let mut record = Vec::with_capacity(PLAN_LEN);
        for d in files {
            let plan = write_strings_and_plan(d, &mut wheels, &mut out)?;
            record.clear();
            plan.encode(&mut record);
            out.push_record(&record)?;
        }
        // The absent tree's children go to a scratch file of their own:
        // the walk reads each directory's when it gets there.
        let absent = absent.spill(crate::atomic::unlinked_beside(
            &scratch.join("absent-tree"),
        )?)?;
        Ok(WheelBytes {
            plan: out.finish()?,
            wheels,
            absent,
            python: python.to_string(),
        })
    }

    /// The plan of deferred file `source`, read from the scratch file,
    /// and its wheel.
    fn read_plan(&self, source: u32) -> Result<(Plan, &Arc<Path>)> {
        let mut record = [0; PLAN_LEN];
        self.plan.read_record(source, &mut record)?;
        let d = Plan::decode(&record, source, self.plan.strings_len())?;
        let Some(wheel) = self.wheels.get(d.wheel as usize) else {
            bail!(
                "internal: plan record {source} is corrupt (wheel {} of {})",
                d.wheel,
                self.wheels.len()
            );
        };
        Ok((d, wheel))
    }
}

/// Write `d`'s strings to `out`: its record (`wheels` gains its wheel if
/// new).
fn write_strings_and_plan(
    d: Deferred,
    wheels: &mut Vec<Arc<Path>>,
    out: &mut SpillWriter,
) -> Result<Plan> {
    let wheel = wheel_index(wheels, &d.wheel)?;
    let tail = path_tail(&d);
    let (name, entry) = d.entry.split();
    let name_text = match tail {
        Some(_) => &[][..],
        None => name.as_bytes(),
    };
    let digest = d.expected.as_ref().map_or(&[][..], |e| &e.hash.digest[..]);
    let sha256 = match d.check_sha256 {
        true => &d.sha256[..],
        false => &[][..],
    };
    let strings = out.push_strings(&[name_text, digest, sha256])?;
    let name = match tail {
        Some(len) => Name::PathTail(len),
        None => Name::Text(length(name_text)?),
    };
    let expected = match &d.expected {
        Some(e) => Some((e.hash.algorithm, length(digest)?, e.size)),
        None => None,
    };
    Ok(Plan {
        wheel,
        name,
        entry,
        script: d.script,
        size: d.size,
        strings,
        expected,
        check_sha256: d.check_sha256,
    })
}

/// `wheel`'s index in `wheels`, added if new.
fn wheel_index(wheels: &mut Vec<Arc<Path>>, wheel: &Arc<Path>) -> Result<u32> {
    // Consecutive files mostly come from one wheel.
    let i = match wheels.iter().rposition(|x| x == wheel) {
        Some(i) => i,
        None => {
            wheels.push(wheel.clone());
            wheels.len() - 1
        }
    };
    u32::try_from(i).map_err(|_| anyhow!("more than 4 Gi wheels in one package"))
}

/// A string's length in a [`Plan`] record.
fn length(s: &[u8]) -> Result<u32> {
    u32::try_from(s.len()).map_err(|_| anyhow!("a name or digest of more than 4 GiB"))
}

/// The entry name of `d`, archived from `path`, its name in the strings
/// being `text`.
fn entry_name(d: &Plan, text: &[u8], path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let bytes = match d.name {
        Name::Text(_) => text,
        Name::PathTail(len) => {
            let p = path.as_os_str().as_bytes();
            &p[p.len().saturating_sub(len as usize)..]
        }
    };
    // Names were valid UTF-8 when planned; a path that does not end
    // as planned gives a name the local header check refuses.
    String::from_utf8_lossy(bytes).into_owned()
}

/// When `d`'s path ends with `/<its entry name>`, the name's length.
fn path_tail(d: &Deferred) -> Option<u32> {
    d.name_at_end
        .then(|| u32::try_from(d.entry.name.len()).ok())
        .flatten()
}

impl crate::deb::DataSource for WheelBytes {
    fn absent(&self) -> &crate::tree::Absent {
        &self.absent
    }

    fn reader(&self) -> Box<dyn crate::deb::SourceReader + '_> {
        Box::new(WheelReader {
            bytes: self,
            open: Vec::new(),
            strings: Vec::new(),
        })
    }
}

/// One reading thread's open wheels.
pub(crate) struct WheelReader<'a> {
    bytes: &'a WheelBytes,
    /// Most recently used first.
    open: Vec<(Arc<Path>, std::fs::File)>,
    /// The current file's strings (the buffer is reused).
    strings: Vec<u8>,
}

/// `wheel`, opened (first in `open`, most recently used first) unless
/// it is open.
fn open_wheel<'o>(
    open: &'o mut Vec<(Arc<Path>, std::fs::File)>,
    wheel: &Arc<Path>,
) -> Result<&'o mut std::fs::File> {
    match open.iter().position(|(w, _)| w == wheel) {
        Some(0) => {}
        Some(i) => {
            let hit = open.remove(i);
            open.insert(0, hit);
        }
        None => {
            let (f, _) = crate::input::open_regular(wheel, "wheel", u64::MAX)?;
            open.truncate(MAX_OPEN - 1);
            open.insert(0, (wheel.clone(), f));
        }
    }
    Ok(&mut open[0].1)
}

impl crate::deb::SourceReader for WheelReader<'_> {
    fn write(&mut self, source: u32, path: &Path, out: &mut dyn Write) -> Result<()> {
        let bytes = self.bytes;
        if source >= bytes.plan.count() {
            bail!("internal: {} is not a deferred file", path.display());
        }
        let (d, wheel) = bytes.read_plan(source)?;
        bytes
            .plan
            .read_strings(d.strings, d.strings_len(), &mut self.strings)?;
        let Some(strings) = d.split_strings(&self.strings) else {
            bail!("internal: plan record {source} is corrupt (its strings do not add up)");
        };
        let file = open_wheel(&mut self.open, wheel)?;
        let python = &bytes.python;
        let entry = d.entry.named(entry_name(&d, strings.name, path));
        let expected = d.expected.map(|(algorithm, _, size)| Expected {
            hash: HashValue {
                algorithm,
                digest: strings.digest.to_vec(),
            },
            size,
        });
        let found = read_entry_at(file, wheel, &entry, expected, |_, r| {
            if !d.check_sha256 {
                // The entry reader checks the RECORD hash, the tar writer
                // the size.
                copy_installed(r, out, d.script, python)?;
                return Ok(None);
            }
            let mut w = Hashing::new(out);
            copy_installed(r, &mut w, d.script, python)?;
            let (sha, size, _) = w.finish();
            Ok(Some((sha, size)))
        })?;
        if let Some((sha, size)) = found {
            let planned = strings.sha256;
            if size != d.size || sha.as_slice() != planned {
                return Err(verification(format!(
                    "{}: {}: expected sha256 {} ({} bytes) as planned, found {} ({size} bytes) (file changed after verification)",
                    wheel.display(),
                    entry.name,
                    hex(planned),
                    d.size,
                    hex(&sha),
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deb::DataSource;
    use sha2::Digest;

    /// An entry without its name, from made-up fields.
    fn entry_at(method: u8, unix_mode: Option<u32>) -> EntryAt {
        let mut b = vec![method];
        b.extend_from_slice(&0xdead_beef_u32.to_le_bytes());
        b.extend_from_slice(&123u64.to_le_bytes());
        b.extend_from_slice(&456u64.to_le_bytes());
        b.push(u8::from(unix_mode.is_some()));
        b.extend_from_slice(&unix_mode.unwrap_or(0).to_le_bytes());
        b.push(0);
        b.extend_from_slice(&0x0808u16.to_le_bytes());
        b.extend_from_slice(&(1u64 << 40).to_le_bytes());
        b.extend_from_slice(&((1u64 << 40) + 999).to_le_bytes());
        EntryAt::decode(&mut Fields::new(&b)).unwrap()
    }

    /// Every kind of plan: both kinds of name, with and without a planned
    /// sha256, without a RECORD hash and with each algorithm.
    fn every_plan() -> Vec<Plan> {
        let algorithms = [
            None,
            Some(HashAlgorithm::Sha256),
            Some(HashAlgorithm::Sha384),
            Some(HashAlgorithm::Sha512),
        ];
        let mut plans = Vec::new();
        for name in [Name::Text(17), Name::PathTail(9)] {
            for algorithm in algorithms {
                for check_sha256 in [false, true] {
                    for (method, mode) in [(0, None), (1, Some(0o755))] {
                        let n = plans.len() as u64;
                        plans.push(Plan {
                            wheel: n as u32 * 7,
                            name,
                            entry: entry_at(method, mode),
                            script: method == 1,
                            size: u64::MAX - n,
                            strings: (1 << 33) + n,
                            expected: algorithm.map(|a| (a, a.output_len() as u32, (1 << 35) + n)),
                            check_sha256,
                        });
                    }
                }
            }
        }
        plans
    }

    fn encoded(plan: &Plan) -> Vec<u8> {
        let mut bytes = Vec::new();
        plan.encode(&mut bytes);
        bytes
    }

    #[test]
    fn every_kind_of_plan_is_encoded_and_decoded_back() {
        let plans = every_plan();
        assert_eq!(plans.len(), 32);
        for (i, plan) in plans.iter().enumerate() {
            let bytes = encoded(plan);
            assert_eq!(bytes.len(), PLAN_LEN);
            assert_eq!(&Plan::decode(&bytes, i as u32, u64::MAX).unwrap(), plan);
            // Its strings, back to back, split into their parts again.
            let name = [b'n'; 17];
            let digest = vec![b'd'; plan.expected.map_or(0, |(_, len, _)| len as usize)];
            let sha256 = vec![b's'; usize::from(plan.check_sha256) * SHA256_LEN];
            let name: &[u8] = match plan.name {
                Name::Text(_) => &name,
                Name::PathTail(_) => &[],
            };
            let strings = [name, &digest, &sha256].concat();
            assert_eq!(strings.len(), plan.strings_len());
            let parts = plan.split_strings(&strings).unwrap();
            assert_eq!(
                (parts.name, parts.digest, parts.sha256),
                (name, &digest[..], &sha256[..])
            );
            if let Some(short) = strings.get(1..) {
                assert!(plan.split_strings(short).is_none());
            }
            assert!(plan.split_strings(&[&strings[..], b"x"].concat()).is_none());
        }
    }

    #[test]
    fn a_corrupt_record_is_an_error_naming_it_not_a_panic() {
        let plan = every_plan()
            .into_iter()
            .find(|p| matches!(p.name, Name::Text(_)) && p.expected.is_some() && p.check_sha256)
            .unwrap();
        let good = encoded(&plan);
        let corrupt = |bytes: &[u8], strings_len: u64| {
            let e = Plan::decode(bytes, 7, strings_len).unwrap_err().to_string();
            assert!(e.starts_with("internal: plan record 7 is corrupt ("), "{e}");
            e
        };
        for (at, byte, what) in [
            (4, 2, "name kind 2 is neither 0 nor 1"),
            (17, 4, "hash algorithm 4 is not 0 to 3"),
            (30, 2, "flag 2 is neither 0 nor 1"),
            (31, 9, "flag 9 is neither 0 nor 1"),
            (40, 2, "compression method 2 is neither 0 nor 1"),
        ] {
            let mut bytes = good.clone();
            bytes[at] = byte;
            assert!(corrupt(&bytes, u64::MAX).contains(what));
        }
        assert!(corrupt(&good[..PLAN_LEN - 1], u64::MAX).contains("ends early"));
        assert!(corrupt(&[&good[..], &[0]].concat(), u64::MAX).contains("1 bytes left over"));
        // Its strings end past the strings region, or past any offset.
        let end = plan.strings + plan.strings_len() as u64;
        assert_eq!(Plan::decode(&good, 7, end).unwrap(), plan);
        assert!(corrupt(&good, end - 1).contains("are not within the"));
        let far = Plan {
            strings: u64::MAX - 1,
            ..plan
        };
        assert!(corrupt(&encoded(&far), u64::MAX).contains("are not within the"));
    }

    /// A [`WheelBytes`] of one wheel (not read) whose scratch file holds
    /// `records`, after `strings`.
    fn spilled(dir: &Path, records: &[Vec<u8>], strings: &[u8]) -> WheelBytes {
        let file = crate::atomic::unlinked_beside(&dir.join("plan")).unwrap();
        let mut w = SpillWriter::new(file, PLAN, PLAN_LEN, records.len() as u32);
        w.push_strings(&[strings]).unwrap();
        for r in records {
            w.push_record(r).unwrap();
        }
        WheelBytes {
            plan: w.finish().unwrap(),
            wheels: vec![Arc::from(Path::new("/nonexistent/x.whl"))],
            absent: Default::default(),
            python: String::new(),
        }
    }

    #[test]
    fn a_corrupt_record_in_the_scratch_file_fails_the_read() {
        let dir = tempfile::tempdir().unwrap();
        let plan = Plan {
            wheel: 0,
            strings: 0,
            ..every_plan()[0]
        };
        let bad_wheel = encoded(&Plan { wheel: 1, ..plan });
        let mut bad_name = encoded(&plan);
        bad_name[4] = 5;
        let past_strings = encoded(&Plan { strings: 1, ..plan });
        let bytes = spilled(
            dir.path(),
            &[bad_wheel, bad_name, past_strings],
            &[b'n'; 17],
        );
        let mut reader = bytes.reader();
        let p = Path::new("/v/pkg/mod.py");
        for (source, what) in [
            (0, "internal: plan record 0 is corrupt (wheel 1 of 1)"),
            (1, "internal: plan record 1 is corrupt (name kind 5 is neither 0 nor 1)"),
            (2, "internal: plan record 2 is corrupt (its 17 bytes of strings at 1 are not within the 17 bytes of strings)"),
            (3, "internal: /v/pkg/mod.py is not a deferred file"),
        ] {
            let e = reader.write(source, p, &mut Vec::new()).unwrap_err();
            assert_eq!(e.to_string(), what);
        }
    }

    /// A wheel of `entries` (name, bytes, deflated), and its checked entries.
    fn wheel(dir: &Path, entries: &[(&str, &[u8], bool)]) -> (Arc<Path>, Vec<Entry>) {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, bytes, deflated) in entries {
            let method = match deflated {
                true => zip::CompressionMethod::Deflated,
                false => zip::CompressionMethod::Stored,
            };
            let opts = zip::write::SimpleFileOptions::default().compression_method(method);
            w.start_file(*name, opts).unwrap();
            w.write_all(bytes).unwrap();
        }
        let path = dir.join("pkg-1.0-py3-none-any.whl");
        std::fs::write(&path, w.finish().unwrap().into_inner()).unwrap();
        let a = crate::wheel::archive::WheelArchive::open(&path, 1 << 20).unwrap();
        (Arc::from(path), a.entries().to_vec())
    }

    /// What RECORD would say of `bytes`.
    fn record_hash(algorithm: HashAlgorithm, bytes: &[u8]) -> Expected {
        let mut h = algorithm.hasher();
        h.update(bytes);
        let digest = h.finish();
        Expected {
            hash: HashValue { algorithm, digest },
            size: bytes.len() as u64,
        }
    }

    #[test]
    fn deferred_files_are_read_back_through_the_scratch_file() {
        let dir = tempfile::tempdir().unwrap();
        let module: &[u8] = b"print('mod')\n";
        let script: &[u8] = b"#!python\nprint('tool')\n";
        let installed: &[u8] = b"#!/v/bin/python\nprint('tool')\n";
        let (whl, entries) = wheel(
            dir.path(),
            &[
                ("pkg/mod.py", module, false),
                ("pkg-1.0.data/scripts/tool", script, true),
            ],
        );
        let venv = dir.path().join("v");
        let site = venv.join("lib/python3.11/site-packages");
        let plain = Deferred {
            path: site.join("pkg/mod.py"),
            executable: false,
            wheel: whl.clone(),
            entry: entries[0].clone(),
            script: false,
            size: module.len() as u64,
            sha256: sha2::Sha256::digest(module).into(),
            expected: Some(record_hash(HashAlgorithm::Sha256, module)),
            check_sha256: false,
            name_at_end: true,
        };
        let tool = Deferred {
            path: venv.join("bin/tool"),
            executable: true,
            entry: entries[1].clone(),
            script: true,
            size: installed.len() as u64,
            sha256: sha2::Sha256::digest(installed).into(),
            expected: Some(record_hash(HashAlgorithm::Sha384, script)),
            check_sha256: true,
            name_at_end: false,
            ..plain.clone()
        };
        // Planned with other bytes than the wheel's.
        let changed = Deferred {
            path: venv.join("bin/changed"),
            sha256: [0; 32],
            ..tool.clone()
        };
        let files = vec![plain, tool, changed];
        let absent = absent(&venv, &files).unwrap();
        let bytes = WheelBytes::new(files.clone(), absent, "/v/bin/python", dir.path()).unwrap();
        assert_eq!(bytes.wheels.len(), 1);
        // The scratch file is unlinked: only the wheel is in the directory.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["pkg-1.0-py3-none-any.whl"]);
        let (first, _) = bytes.read_plan(0).unwrap();
        assert_eq!(first.name, Name::PathTail("pkg/mod.py".len() as u32));
        let (second, _) = bytes.read_plan(1).unwrap();
        assert_eq!(
            second.name,
            Name::Text("pkg-1.0.data/scripts/tool".len() as u32)
        );
        let mut reader = bytes.reader();
        for (i, want) in [module, installed].into_iter().enumerate() {
            let mut out = Vec::new();
            reader.write(i as u32, &files[i].path, &mut out).unwrap();
            assert_eq!(out, want);
        }
        let e = reader
            .write(2, &files[2].path, &mut Vec::new())
            .unwrap_err();
        assert!(e.to_string().contains("as planned"), "{e}");
    }

    #[test]
    fn a_name_is_at_the_end_of_a_path_only_after_a_slash() {
        let p = Path::new("/s/v/lib/python3.11/site-packages/pkg/mod.py");
        assert!(name_at_end(p, "pkg/mod.py"));
        assert!(name_at_end(p, "mod.py"));
        assert!(!name_at_end(p, "g/mod.py"));
        assert!(!name_at_end(p, "pkg/other.py"));
        assert!(!name_at_end(Path::new("mod.py"), "mod.py"));
        assert!(!name_at_end(
            Path::new("/s/v/bin/tool"),
            "pkg-1.0.data/scripts/tool"
        ));
    }
}
