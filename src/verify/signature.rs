//! The OpenPGP check of the signed wheel list, in-process with rPGP (the
//! `pgp` crate, pure Rust: no gpg, no agent, no implicit key store).
//!
//! Policy, written here because rPGP leaves it to the caller:
//! - keys come only from the given keyring file (binary `gpg --export` or
//!   armored, one or several keys);
//! - a key's usable parts are its primary key (if its latest valid
//!   self-signature allows signing) and subkeys with a valid binding
//!   signature that allows signing and carries a valid back-signature;
//! - revocation signatures (key or subkey) and expiry (of the primary, of the
//!   subkey, of the signature) make a part unusable; self-signatures and
//!   data signatures over MD5, SHA-1 or RIPEMD-160 are refused;
//! - the data signature must be binary or text type;
//! - every signature issued by a keyring key must verify and come from a
//!   usable part, or the whole check fails; signatures by other keys are
//!   reported and not counted; at least `threshold` distinct keyring keys
//!   must have signed.
use std::io::Cursor;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{Signature, SignatureType, SubpacketData};
use pgp::types::{KeyDetails, Tag};

use crate::exit::verification;

/// A good signature counted towards the threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoodSignature {
    /// Primary key fingerprint, uppercase hex.
    pub key: String,
    /// Fingerprint of the (sub)key that made the signature.
    pub signing_key: String,
    /// Signature creation time (Unix seconds).
    pub created: u32,
}

/// What the check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignatureReport {
    /// Distinct signing keys, sorted by fingerprint.
    pub good: Vec<GoodSignature>,
    /// Issuers of signatures by keys outside the keyring (not counted).
    pub unknown: Vec<String>,
}

/// One usable-or-not part of a key.
struct Part<'a> {
    primary_fp: String,
    fp: String,
    key_id: Vec<u8>,
    key: PartKey<'a>,
    created: u32,
    /// Why it cannot sign now, if it cannot.
    problem: Option<String>,
}

enum PartKey<'a> {
    Primary(&'a pgp::packet::PublicKey),
    Sub(&'a pgp::packet::PublicSubkey),
}

fn weak(alg: HashAlgorithm) -> bool {
    !matches!(
        alg,
        HashAlgorithm::Sha256
            | HashAlgorithm::Sha384
            | HashAlgorithm::Sha512
            | HashAlgorithm::Sha224
            | HashAlgorithm::Sha3_256
            | HashAlgorithm::Sha3_512
    )
}

fn sig_hash(sig: &Signature) -> Option<HashAlgorithm> {
    sig.hash_alg()
}

fn created(sig: &Signature) -> u32 {
    sig.created().map_or(0, |t| t.as_secs())
}

fn has_key_flags(sig: &Signature) -> bool {
    sig.config().is_some_and(|c| {
        c.hashed_subpackets()
            .any(|p| matches!(p.data, SubpacketData::KeyFlags(_)))
    })
}

fn fp_hex(fp: &pgp::types::Fingerprint) -> String {
    format!("{fp:X}")
}

fn expiry_of(sig: &Signature, key_created: u32) -> Option<u64> {
    match sig.key_expiration_time().map(|d| d.as_secs()) {
        None | Some(0) => None,
        Some(d) => Some(u64::from(key_created) + u64::from(d)),
    }
}

fn fmt_time(t: u64) -> String {
    let (y, m, d, hh, mm, ss) = crate::sde::utc_parts(t);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02} UTC")
}

/// The primary key's state: its latest valid self-signature, revocation.
fn primary_part(key: &SignedPublicKey, now: u64) -> Part<'_> {
    let pk = &key.primary_key;
    let fp = fp_hex(&pk.fingerprint());
    let kcreated = pk.created_at().as_secs();
    let mut selfsigs: Vec<&Signature> = Vec::new();
    for user in &key.details.users {
        for sig in &user.signatures {
            if sig_hash(sig).is_some_and(|h| !weak(h))
                && u64::from(created(sig)) <= now
                && sig.verify_certification(pk, Tag::UserId, &user.id).is_ok()
            {
                selfsigs.push(sig);
            }
        }
    }
    for sig in &key.details.direct_signatures {
        if sig_hash(sig).is_some_and(|h| !weak(h))
            && u64::from(created(sig)) <= now
            && sig.verify_key(pk).is_ok()
        {
            selfsigs.push(sig);
        }
    }
    let mut problem = None;
    let latest = selfsigs.iter().max_by_key(|s| created(s)).copied();
    match latest {
        None => {
            problem = Some(format!(
                "key {fp} has no valid self-signature (SHA-256 or stronger)"
            ))
        }
        Some(sig) => {
            if has_key_flags(sig) && !sig.key_flags().sign() {
                problem = Some(format!("primary key {fp} is not signing-capable"));
            }
            if let Some(exp) = expiry_of(sig, kcreated) {
                if exp <= now {
                    problem = Some(format!("key {fp} expired on {}", fmt_time(exp)));
                }
            }
        }
    }
    for sig in &key.details.revocation_signatures {
        if sig.typ() == Some(SignatureType::KeyRevocation) && sig.verify_key(pk).is_ok() {
            problem = Some(format!(
                "key {fp} is revoked (revocation signature of {})",
                fmt_time(u64::from(created(sig)))
            ));
        }
    }
    Part {
        primary_fp: fp.clone(),
        fp,
        key_id: pk.legacy_key_id().as_ref().to_vec(),
        key: PartKey::Primary(pk),
        created: kcreated,
        problem,
    }
}

fn subkey_parts<'a>(key: &'a SignedPublicKey, primary: &Part<'_>, now: u64) -> Vec<Part<'a>> {
    let pk = &key.primary_key;
    let mut out = Vec::new();
    for sub in &key.public_subkeys {
        let fp = fp_hex(&sub.key.fingerprint());
        let screated = sub.key.created_at().as_secs();
        let mut bindings: Vec<&Signature> = Vec::new();
        let mut problem = None;
        for sig in &sub.signatures {
            let ok_hash = sig_hash(sig).is_some_and(|h| !weak(h));
            match sig.typ() {
                Some(SignatureType::SubkeyBinding) => {
                    if !ok_hash
                        || u64::from(created(sig)) > now
                        || sig.verify_subkey_binding(pk, &sub.key).is_err()
                    {
                        continue;
                    }
                    if sig.key_flags().sign() {
                        let back_ok = sig.embedded_signature().is_some_and(|b| {
                            sig_hash(b).is_some_and(|h| !weak(h))
                                && b.verify_primary_key_binding(&sub.key, pk).is_ok()
                        });
                        if !back_ok {
                            continue;
                        }
                    }
                    bindings.push(sig);
                }
                Some(SignatureType::SubkeyRevocation)
                    if sig.verify_subkey_binding(pk, &sub.key).is_ok() =>
                {
                    problem = Some(format!(
                        "subkey {fp} is revoked (revocation signature of {})",
                        fmt_time(u64::from(created(sig)))
                    ));
                }
                _ => {}
            }
        }
        if problem.is_none() {
            match bindings.iter().max_by_key(|s| created(s)) {
                None => {
                    problem = Some(format!(
                        "subkey {fp} has no valid binding signature (with back-signature, SHA-256 or stronger)"
                    ))
                }
                Some(b) => {
                    if !b.key_flags().sign() {
                        problem = Some(format!("subkey {fp} is not signing-capable"));
                    } else if let Some(exp) = expiry_of(b, screated) {
                        if exp <= now {
                            problem = Some(format!("subkey {fp} expired on {}", fmt_time(exp)));
                        }
                    }
                }
            }
        }
        // The primary's own problems (revoked, expired) apply to its subkeys;
        // not being signing-capable itself does not.
        if let Some(pp) = &primary.problem {
            if !pp.contains("not signing-capable") {
                problem = Some(pp.clone());
            }
        }
        out.push(Part {
            primary_fp: primary.primary_fp.clone(),
            fp,
            key_id: sub.key.legacy_key_id().as_ref().to_vec(),
            key: PartKey::Sub(&sub.key),
            created: screated,
            problem,
        });
    }
    out
}

/// Read every public key in a keyring file (binary or armored).
pub fn load_keyring(path: &Path) -> Result<Vec<SignedPublicKey>> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading keyring {}", path.display()))?;
    let p = path.display();
    let text_start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let mut keys = Vec::new();
    if bytes[text_start..].starts_with(b"-----BEGIN") {
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| verification(format!("{p}: armored keyring is not valid UTF-8")))?;
        // One or several armor blocks.
        let marker = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
        let starts: Vec<usize> = text.match_indices(marker).map(|(i, _)| i).collect();
        if starts.is_empty() {
            return Err(verification(format!(
                "{p}: expected armored public keys (BEGIN PGP PUBLIC KEY BLOCK), found none"
            )));
        }
        for (k, &s) in starts.iter().enumerate() {
            let e = starts.get(k + 1).copied().unwrap_or(text.len());
            let (iter, _) =
                SignedPublicKey::from_armor_many(Cursor::new(&text.as_bytes()[s..e]))
                    .map_err(|e| verification(format!("{p}: cannot read armored keys: {e}")))?;
            for key in iter {
                keys.push(key.map_err(|e| verification(format!("{p}: cannot read a key: {e}")))?);
            }
        }
    } else {
        let iter = SignedPublicKey::from_bytes_many(Cursor::new(&bytes[..]))
            .map_err(|e| verification(format!("{p}: cannot read keyring: {e}")))?;
        for key in iter {
            keys.push(key.map_err(|e| verification(format!("{p}: cannot read a key: {e}")))?);
        }
    }
    if keys.is_empty() {
        return Err(verification(format!(
            "{p}: expected at least one public key, found none"
        )));
    }
    Ok(keys)
}

/// Read every signature in a detached signature file (binary or armored).
pub fn load_signatures(path: &Path) -> Result<Vec<DetachedSignature>> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading signature {}", path.display()))?;
    let p = path.display();
    let text_start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let mut sigs = Vec::new();
    if bytes[text_start..].starts_with(b"-----BEGIN") {
        let (iter, _) = DetachedSignature::from_armor_many(Cursor::new(&bytes[..]))
            .map_err(|e| verification(format!("{p}: cannot read armored signature: {e}")))?;
        for s in iter {
            sigs.push(s.map_err(|e| verification(format!("{p}: cannot read a signature: {e}")))?);
        }
    } else {
        let iter = DetachedSignature::from_bytes_many(Cursor::new(&bytes[..]))
            .map_err(|e| verification(format!("{p}: cannot read signature: {e}")))?;
        for s in iter {
            sigs.push(s.map_err(|e| verification(format!("{p}: cannot read a signature: {e}")))?);
        }
    }
    if sigs.is_empty() {
        return Err(verification(format!(
            "{p}: expected an OpenPGP signature, found none"
        )));
    }
    Ok(sigs)
}

/// Check the detached signature(s) in `sig_path` over `data` (the bytes of
/// `data_name`) against the keys in `keyring_path`, at time `now`.
pub fn verify_detached(
    data: &[u8],
    data_name: &str,
    sig_path: &Path,
    keyring_path: &Path,
    threshold: usize,
    now: SystemTime,
) -> Result<SignatureReport> {
    let now = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let keys = load_keyring(keyring_path)?;
    let sigs = load_signatures(sig_path)?;
    let sp = sig_path.display();
    let mut parts: Vec<Part<'_>> = Vec::new();
    for key in &keys {
        let primary = primary_part(key, now);
        let subs = subkey_parts(key, &primary, now);
        parts.push(primary);
        parts.extend(subs);
    }
    let mut report = SignatureReport::default();
    for ds in &sigs {
        let sig = &ds.signature;
        let fps: Vec<String> = sig.issuer_fingerprint().iter().map(|f| fp_hex(f)).collect();
        let ids: Vec<Vec<u8>> = sig
            .issuer_key_id()
            .iter()
            .map(|k| k.as_ref().to_vec())
            .collect();
        let part = parts
            .iter()
            .find(|p| fps.contains(&p.fp) || (fps.is_empty() && ids.contains(&p.key_id)));
        let Some(part) = part else {
            let who = fps
                .first()
                .cloned()
                .or_else(|| {
                    ids.first()
                        .map(|i| crate::wheel::record::hex(i).to_uppercase())
                })
                .unwrap_or_else(|| "(no issuer)".into());
            report.unknown.push(who);
            continue;
        };
        let who = if part.fp == part.primary_fp {
            format!("key {}", part.fp)
        } else {
            format!("key {} (subkey {})", part.primary_fp, part.fp)
        };
        match sig.typ() {
            Some(SignatureType::Binary) | Some(SignatureType::Text) => {}
            t => {
                return Err(verification(format!(
                    "{sp}: signature by {who}: expected a binary or text document signature, found type {t:?}"
                )))
            }
        }
        match sig_hash(sig) {
            Some(h) if !weak(h) => {}
            h => {
                let name = h.map_or("unknown".to_string(), |h| h.to_string());
                return Err(verification(format!(
                    "{sp}: signature by {who} over {data_name}: digest {name} refused: expected SHA-256 or stronger"
                )));
            }
        }
        let res = match part.key {
            PartKey::Primary(k) => ds.verify(k, data),
            PartKey::Sub(k) => ds.verify(k, data),
        };
        if let Err(e) = res {
            // rPGP's message may span lines (an assertion dump): keep its gist.
            let e = e.to_string();
            let gist = e.rsplit(": ").next().unwrap_or(&e).trim();
            return Err(verification(format!(
                "{sp}: BAD signature by {who} over {data_name}: expected a signature of these bytes, found one that does not verify ({gist})"
            )));
        }
        if let Some(problem) = &part.problem {
            return Err(verification(format!(
                "{sp}: signature by {who} over {data_name} is cryptographically valid but the key cannot sign now: {problem}"
            )));
        }
        let screated = created(sig);
        if screated < part.created {
            return Err(verification(format!(
                "{sp}: signature by {who}: made {} before its key was created {}",
                fmt_time(u64::from(screated)),
                fmt_time(u64::from(part.created))
            )));
        }
        if u64::from(screated) > now + 300 {
            return Err(verification(format!(
                "{sp}: signature by {who}: creation time {} is in the future",
                fmt_time(u64::from(screated))
            )));
        }
        if let Some(exp) = sig.signature_expiration_time().map(|d| d.as_secs()) {
            if exp != 0 && u64::from(screated) + u64::from(exp) <= now {
                return Err(verification(format!(
                    "{sp}: signature by {who} expired on {}",
                    fmt_time(u64::from(screated) + u64::from(exp))
                )));
            }
        }
        if !report.good.iter().any(|g| g.key == part.primary_fp) {
            report.good.push(GoodSignature {
                key: part.primary_fp.clone(),
                signing_key: part.fp.clone(),
                created: screated,
            });
        }
    }
    report.good.sort_by(|a, b| a.key.cmp(&b.key));
    report.unknown.sort();
    report.unknown.dedup();
    if report.good.len() < threshold.max(1) {
        let found = if report.good.is_empty() {
            "none".to_string()
        } else {
            report
                .good
                .iter()
                .map(|g| g.key.clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let unknown = if report.unknown.is_empty() {
            String::new()
        } else {
            format!(
                "; signatures by keys not in the keyring (not counted): {}",
                report.unknown.join(", ")
            )
        };
        return Err(verification(format!(
            "{sp}: expected good signatures over {data_name} from at least {} distinct keys of {}, found {} ({found}){unknown}",
            threshold.max(1),
            keyring_path.display(),
            report.good.len()
        )));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(fmt_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(fmt_time(1_704_067_200), "2024-01-01 00:00:00 UTC");
        assert_eq!(fmt_time(951_782_400 + 3661), "2000-02-29 01:01:01 UTC");
    }

    #[test]
    fn loads_both_test_keyrings() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/keys");
        for f in [
            "test-key-a.public.gpg",
            "test-key-a.public.asc",
            "test-key-b.public.gpg",
        ] {
            let keys = load_keyring(&dir.join(f)).unwrap();
            assert_eq!(keys.len(), 1, "{f}");
        }
        // Several armored blocks in one file (cat a.asc b.asc).
        let both = tempfile::NamedTempFile::new().unwrap();
        let mut text = std::fs::read(dir.join("test-key-a.public.asc")).unwrap();
        text.extend(std::fs::read(dir.join("test-key-b.public.asc")).unwrap());
        std::fs::write(both.path(), text).unwrap();
        assert_eq!(load_keyring(both.path()).unwrap().len(), 2);
        let a = load_keyring(&dir.join("test-key-a.public.asc")).unwrap();
        let now = 1_800_000_000;
        let p = primary_part(&a[0], now);
        assert_eq!(
            p.fp,
            std::fs::read_to_string(dir.join("test-key-a.fingerprint"))
                .unwrap()
                .trim()
        );
        // A's primary is certify-only; its subkey signs.
        assert!(p
            .problem
            .as_deref()
            .unwrap_or("")
            .contains("not signing-capable"));
        let subs = subkey_parts(&a[0], &p, now);
        assert!(subs.iter().any(|s| s.problem.is_none()));
    }
}
