//! The OpenPGP check of the signed wheel list, in-process with rPGP (the
//! `pgp` crate, pure Rust: no gpg, no agent, no implicit key store).
//!
//! Policy, written here because rPGP leaves it to the caller (docs/verify.md
//! says the same with gpgv's and sqv's behaviours side by side):
//! - keys come only from the given keyring file (binary `gpg --export` or
//!   armored, one or several keys); several copies of one certificate (same
//!   primary fingerprint) are merged, the union of their packets, as
//!   `gpg --import` does: no order of the copies changes a verdict;
//! - a data signature counts when it is valid **at its creation time** T (the
//!   model of Sequoia's sqv): at T the signing key (and its primary) existed,
//!   was bound by the self-signature (or subkey binding with back-signature)
//!   in force at T, was not expired at T, was signing-capable and was not
//!   revoked. A *hard* revocation (key compromised, no reason, an unknown
//!   reason) voids signatures of any time; a *soft* one (superseded,
//!   retired) only those made from its date on. Revocations count whatever
//!   their hash algorithm (a weak hash may not make a signature valid, but a
//!   revocation must still revoke);
//! - at the reference time N (now, or `--at`): the signature is not dated
//!   after N + [`CLOCK_SKEW`], has not expired (signature expiration time),
//!   and is not older than the optional maximum age;
//! - self-signatures, bindings, back-signatures and data signatures over MD5,
//!   SHA-1 or RIPEMD-160 are refused, and so are those with an unknown
//!   *critical* subpacket in their hashed area (RFC 9580 5.2.3.7; a critical
//!   notation is unknown: no notation is known);
//! - the data signature must be binary or text type;
//! - every signature issued by a keyring key must verify and be valid as
//!   above, or the whole check fails; signatures by other keys are reported
//!   and not counted; at least `threshold` distinct keyring keys must have
//!   signed.
use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::public_key::PublicKeyAlgorithm;
use pgp::packet::{RevocationCode, Signature, SignatureType, SubpacketData};
use pgp::ser::Serialize;
use pgp::types::{KeyDetails, Tag, VerifyingKey};
use sha2::digest::DynDigest;

use crate::exit::verification;

/// How far in the future a signature may be dated (clock skew between the
/// signer's machine and this one), in seconds.
pub const CLOCK_SKEW: u64 = 300;

/// What the reference time is, and how old a signature may be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignaturePolicy {
    /// Reference time (Unix seconds): `None` is the current time.
    pub at: Option<u64>,
    /// Refuse signatures made more than this many seconds before the
    /// reference time.
    pub max_age: Option<u64>,
}

/// A good signature counted towards the threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoodSignature {
    /// Primary key fingerprint, uppercase hex.
    pub key: String,
    /// Fingerprint of the (sub)key that made the signature.
    pub signing_key: String,
    /// Signature creation time (Unix seconds).
    pub created: u32,
    /// When the signing key expires (the earlier of primary and subkey), as
    /// the keyring says at the reference time; `None`: never.
    pub key_expires: Option<u64>,
    /// `key_expires` when that is at or before the reference time: the key
    /// has expired since (the signature predates it).
    pub key_expired_since: Option<u64>,
    /// A soft revocation (superseded, retired) of the signing key dated
    /// after the signature: the key has been retired since.
    pub key_retired_since: Option<u64>,
}

/// What the check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignatureReport {
    /// Distinct signing keys, sorted by fingerprint.
    pub good: Vec<GoodSignature>,
    /// Issuers of signatures by keys outside the keyring (not counted).
    pub unknown: Vec<String>,
    /// The reference time the check used (Unix seconds).
    pub reference_time: u64,
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

fn strong_hash(sig: &Signature) -> bool {
    sig.hash_alg().is_some_and(|h| !weak(h))
}

fn created(sig: &Signature) -> u64 {
    sig.created().map_or(0, |t| u64::from(t.as_secs()))
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

fn expiry_of(sig: &Signature, key_created: u64) -> Option<u64> {
    match sig.key_expiration_time().map(|d| d.as_secs()) {
        None | Some(0) => None,
        Some(d) => Some(key_created + u64::from(d)),
    }
}

/// When the signature itself expires (signature expiration time).
fn sig_expiry(sig: &Signature) -> Option<u64> {
    match sig.signature_expiration_time().map(|d| d.as_secs()) {
        None | Some(0) => None,
        Some(d) => Some(created(sig) + u64::from(d)),
    }
}

pub(crate) fn fmt_time(t: u64) -> String {
    let (y, m, d, hh, mm, ss) = crate::sde::utc_parts(t);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02} UTC")
}

/// Whether a subpacket is one this verifier understands, so that its
/// critical bit may be set. Notations are not: no notation is known.
fn understood(d: &SubpacketData) -> bool {
    use SubpacketData as S;
    matches!(
        d,
        S::SignatureCreationTime(_)
            | S::SignatureExpirationTime(_)
            | S::KeyExpirationTime(_)
            | S::IssuerKeyId(_)
            | S::IssuerFingerprint(_)
            | S::PreferredSymmetricAlgorithms(_)
            | S::PreferredHashAlgorithms(_)
            | S::PreferredCompressionAlgorithms(_)
            | S::PreferredAeadAlgorithms(_)
            | S::PreferredEncryptionModes(_)
            | S::KeyServerPreferences(_)
            | S::PreferredKeyServer(_)
            | S::KeyFlags(_)
            | S::Features(_)
            | S::RevocationReason(_, _)
            | S::IsPrimary(_)
            | S::Revocable(_)
            | S::EmbeddedSignature(_)
            | S::ExportableCertification(_)
            | S::SignersUserID(_)
            | S::PolicyURI(_)
            | S::IntendedRecipientFingerprint(_)
    )
}

/// The first unknown critical subpacket in the hashed area, described.
fn unknown_critical(sig: &Signature) -> Option<String> {
    let c = sig.config()?;
    c.hashed_subpackets()
        .find(|p| p.is_critical && !understood(&p.data))
        .map(|p| match &p.data {
            SubpacketData::Notation(n) => format!(
                "unknown critical notation {:?}",
                String::from_utf8_lossy(&n.name)
            ),
            _ => format!("unknown critical subpacket type {}", p.typ().as_u8(false)),
        })
}

/// Why a self-signature, binding or back-signature is not usable, if so.
fn selfsig_problem(sig: &Signature) -> Option<String> {
    if !strong_hash(sig) {
        let h = sig
            .hash_alg()
            .map_or("an unknown digest".to_string(), |h| h.to_string());
        return Some(format!("uses {h} (expected SHA-256 or stronger)"));
    }
    unknown_critical(sig).map(|c| format!("has an {c}"))
}

/// Whether a key or subkey revocation is hard (voids signatures of any
/// time): compromised, no reason, or a reason this verifier does not know.
fn is_hard(sig: &Signature) -> bool {
    !matches!(
        sig.revocation_reason_code(),
        Some(RevocationCode::KeySuperseded)
            | Some(RevocationCode::KeyRetired)
            | Some(RevocationCode::CertUserIdInvalid)
    )
}

fn reason(sig: &Signature) -> String {
    match sig.revocation_reason_code() {
        None => "no reason given".into(),
        Some(RevocationCode::NoReason) => "no reason specified".into(),
        Some(RevocationCode::KeyCompromised) => "key compromised".into(),
        Some(RevocationCode::KeySuperseded) => "key superseded".into(),
        Some(RevocationCode::KeyRetired) => "key retired".into(),
        Some(RevocationCode::CertUserIdInvalid) => "user ID no longer valid".into(),
        Some(c) => format!("reason code {}", u8::from(*c)),
    }
}

/// A deterministic order between signatures made in the same second, so
/// that the order of the keyring's packets never decides.
fn sig_bytes(sig: &Signature) -> Vec<u8> {
    sig.to_bytes().unwrap_or_default()
}

/// The self-signature or binding in force at `t` (at or after the key's
/// creation): the latest one made at or before `t` and not expired at `t`
/// (ties broken by their bytes). When every one was made after `t`, the
/// earliest stands in from the key's creation on: gpg keeps and exports
/// only the newest self-signature after an expiry change, so a key
/// extended after signing has nothing older (Sequoia issue 1105; rpm-sequoia
/// does the same).
fn in_force<'a>(sigs: &[&'a Signature], t: u64) -> Option<&'a Signature> {
    let order = |a: &&Signature, b: &&Signature| {
        created(a)
            .cmp(&created(b))
            .then_with(|| sig_bytes(a).cmp(&sig_bytes(b)))
    };
    let before = sigs
        .iter()
        .copied()
        .filter(|s| created(s) <= t)
        .collect::<Vec<_>>();
    if before.is_empty() {
        return sigs.iter().copied().min_by(order);
    }
    before
        .into_iter()
        .filter(|s| sig_expiry(s).is_none_or(|e| t < e))
        .max_by(order)
}

/// The revocation that voids a signature made at `t`, if any: a hard one of
/// any date, else a soft one dated at or before `t` (earliest first).
fn revoked_at<'a>(revs: &[&'a Signature], t: u64) -> Option<&'a Signature> {
    let mut hard: Vec<&Signature> = revs.iter().copied().filter(|r| is_hard(r)).collect();
    hard.sort_by_key(|r| (created(r), sig_bytes(r)));
    if let Some(r) = hard.first() {
        return Some(r);
    }
    revs.iter()
        .copied()
        .filter(|r| created(r) <= t)
        .min_by_key(|r| (created(r), sig_bytes(r)))
}

/// A soft revocation dated after `t` (reported, not a refusal).
fn retired_after(revs: &[&Signature], t: u64) -> Option<u64> {
    revs.iter()
        .filter(|r| !is_hard(r) && created(r) > t)
        .map(|r| created(r))
        .min()
}

fn revocation_msg(what: &str, r: &Signature, t: u64) -> String {
    if is_hard(r) {
        format!(
            "{what} is revoked ({}, revocation signature of {}): a hard revocation voids signatures of any date",
            reason(r),
            fmt_time(created(r))
        )
    } else {
        format!(
            "{what} was revoked on {} ({}), before the signature was made ({})",
            fmt_time(created(r)),
            reason(r),
            fmt_time(t)
        )
    }
}

/// Hash a v4 key as a signature over it does (0x99, length, body).
fn hash_key(key: &impl Serialize, h: &mut Box<dyn DynDigest + Send>) -> Option<()> {
    let body = key.to_bytes().ok()?;
    h.update(&[0x99]);
    h.update(&u16::try_from(body.len()).ok()?.to_be_bytes());
    h.update(&body);
    Some(())
}

/// Verify a key revocation (`sub` None) or a subkey revocation by
/// `primary`, whatever its digest. rPGP refuses EdDSA signatures over
/// digests shorter than 256 bits (RFC 9580's rule for making signatures),
/// so a SHA-1 revocation by an Ed25519 key would not revoke; a weak digest
/// may not make a signature valid, but a revocation must still revoke. So
/// for EdDSA with a short digest, the digest is computed here as rPGP does
/// and the Ed25519 signature checked over it.
fn verify_revocation(
    sig: &Signature,
    primary: &pgp::packet::PublicKey,
    sub: Option<&pgp::packet::PublicSubkey>,
) -> bool {
    let ok = match sub {
        None => sig.verify_key(primary).is_ok(),
        Some(s) => sig.verify_subkey_binding(primary, s).is_ok(),
    };
    if ok {
        return true;
    }
    let short_eddsa = || -> Option<bool> {
        let cfg = sig.config()?;
        if !matches!(
            primary.algorithm(),
            PublicKeyAlgorithm::EdDSALegacy | PublicKeyAlgorithm::Ed25519
        ) || cfg.hash_alg.digest_size()? >= 32
            || primary.version() != pgp::types::KeyVersion::V4
        {
            return Some(false);
        }
        let mut h = cfg.hash_alg.new_hasher().ok()?;
        hash_key(primary, &mut h)?;
        if let Some(s) = sub {
            hash_key(s, &mut h)?;
        }
        let len = cfg.hash_signature_data(&mut h).ok()?;
        h.update(&cfg.trailer(len).ok()?);
        let digest = h.finalize();
        if sig.signed_hash_value()? != [digest[0], digest[1]] {
            return Some(false);
        }
        // EdDSA signs the digest bytes as they are: the algorithm named here
        // only selects rPGP's strength check, not what is verified.
        Some(
            primary
                .verify(HashAlgorithm::Sha256, &digest, sig.signature()?)
                .is_ok(),
        )
    };
    short_eddsa().unwrap_or(false)
}

/// A certificate: the union of every copy with this primary fingerprint,
/// with only the self-signatures that verify.
struct Cert<'a> {
    fp: String,
    key: &'a pgp::packet::PublicKey,
    created: u64,
    /// Usable self-signatures (user ID certifications and direct-key).
    selfsigs: Vec<&'a Signature>,
    /// Self-signatures that verify but are refused, with why.
    refused: Vec<String>,
    /// Key revocations that verify (any hash).
    revocations: Vec<&'a Signature>,
    subs: Vec<Sub<'a>>,
}

struct Sub<'a> {
    fp: String,
    key: &'a pgp::packet::PublicSubkey,
    created: u64,
    /// Usable bindings (signing ones carry a usable back-signature).
    bindings: Vec<&'a Signature>,
    refused: Vec<String>,
    revocations: Vec<&'a Signature>,
}

/// Whether `sig` names `fp`/`key_id` as its issuer, or names none.
fn may_be_issued_by(sig: &Signature, fp: &str, key_id: &[u8]) -> bool {
    let fps = sig.issuer_fingerprint();
    let ids = sig.issuer_key_id();
    (fps.is_empty() && ids.is_empty())
        || fps.iter().any(|f| fp_hex(f) == fp)
        || ids.iter().any(|k| k.as_ref() == key_id)
}

impl<'a> Cert<'a> {
    /// Merge the copies (all with one primary fingerprint).
    fn merge(copies: &[&'a SignedPublicKey]) -> Cert<'a> {
        let pk = &copies[0].primary_key;
        let fp = fp_hex(&pk.fingerprint());
        let key_id = pk.legacy_key_id().as_ref().to_vec();
        let mut c = Cert {
            fp: fp.clone(),
            key: pk,
            created: u64::from(pk.created_at().as_secs()),
            selfsigs: Vec::new(),
            refused: Vec::new(),
            revocations: Vec::new(),
            subs: Vec::new(),
        };
        let mut subs: BTreeMap<String, Sub<'a>> = BTreeMap::new();
        for copy in copies {
            let consider = |sig: &'a Signature, c: &mut Cert<'a>| match selfsig_problem(sig) {
                None => c.selfsigs.push(sig),
                Some(p) => c
                    .refused
                    .push(format!("self-signature of {} {p}", fmt_time(created(sig)))),
            };
            for user in &copy.details.users {
                for sig in &user.signatures {
                    if may_be_issued_by(sig, &fp, &key_id)
                        && sig.verify_certification(pk, Tag::UserId, &user.id).is_ok()
                    {
                        consider(sig, &mut c);
                    }
                }
            }
            for sig in &copy.details.direct_signatures {
                if sig.typ() == Some(SignatureType::Key)
                    && may_be_issued_by(sig, &fp, &key_id)
                    && sig.verify_key(pk).is_ok()
                {
                    consider(sig, &mut c);
                }
            }
            for sig in &copy.details.revocation_signatures {
                if sig.typ() == Some(SignatureType::KeyRevocation)
                    && may_be_issued_by(sig, &fp, &key_id)
                    && verify_revocation(sig, pk, None)
                {
                    c.revocations.push(sig);
                }
            }
            for sub in &copy.public_subkeys {
                let sfp = fp_hex(&sub.key.fingerprint());
                let s = subs.entry(sfp.clone()).or_insert_with(|| Sub {
                    fp: sfp,
                    key: &sub.key,
                    created: u64::from(sub.key.created_at().as_secs()),
                    bindings: Vec::new(),
                    refused: Vec::new(),
                    revocations: Vec::new(),
                });
                for sig in &sub.signatures {
                    if !may_be_issued_by(sig, &fp, &key_id) {
                        continue;
                    }
                    if sig.typ() == Some(SignatureType::SubkeyRevocation) {
                        if verify_revocation(sig, pk, Some(&sub.key)) {
                            s.revocations.push(sig);
                        }
                        continue;
                    }
                    if sig.typ() != Some(SignatureType::SubkeyBinding)
                        || sig.verify_subkey_binding(pk, &sub.key).is_err()
                    {
                        continue;
                    }
                    let when = fmt_time(created(sig));
                    if let Some(p) = selfsig_problem(sig) {
                        s.refused.push(format!("binding signature of {when} {p}"));
                        continue;
                    }
                    if sig.key_flags().sign() {
                        let back = match sig.embedded_signature() {
                            None => Some("has no back-signature".to_string()),
                            Some(b) => {
                                if b.verify_primary_key_binding(&sub.key, pk).is_err() {
                                    Some("has a back-signature that does not verify".into())
                                } else {
                                    selfsig_problem(b)
                                        .map(|p| format!("has a back-signature that {p}"))
                                }
                            }
                        };
                        if let Some(p) = back {
                            s.refused.push(format!("binding signature of {when} {p}"));
                            continue;
                        }
                    }
                    s.bindings.push(sig);
                }
            }
        }
        c.subs = subs.into_values().collect();
        c
    }

    fn no_selfsig(&self, t: u64) -> String {
        let mut m = format!(
            "key {} has no usable self-signature in force on {}",
            self.fp,
            fmt_time(t)
        );
        if !self.refused.is_empty() {
            let mut r = self.refused.clone();
            r.sort();
            r.dedup();
            m.push_str(&format!(" (refused: {})", r.join("; ")));
        }
        m
    }

    /// Whether the primary key was valid at `t` (existed, bound, not
    /// expired, not revoked); `Ok` gives the self-signature in force.
    fn primary_at(&self, t: u64) -> std::result::Result<&'a Signature, String> {
        let fp = &self.fp;
        if t < self.created {
            return Err(format!(
                "made {} before key {fp} was created ({})",
                fmt_time(t),
                fmt_time(self.created)
            ));
        }
        if let Some(r) = revoked_at(&self.revocations, t) {
            return Err(revocation_msg(&format!("key {fp}"), r, t));
        }
        let sig = in_force(&self.selfsigs, t).ok_or_else(|| self.no_selfsig(t))?;
        if let Some(e) = expiry_of(sig, self.created) {
            if e <= t {
                return Err(format!(
                    "key {fp} had expired on {} when the signature was made ({})",
                    fmt_time(e),
                    fmt_time(t)
                ));
            }
        }
        Ok(sig)
    }

    /// Whether `part` (None: the primary) could sign at `t`.
    fn can_sign_at(&self, part: Option<&Sub<'a>>, t: u64) -> std::result::Result<(), String> {
        let selfsig = self.primary_at(t)?;
        let Some(s) = part else {
            if has_key_flags(selfsig) && !selfsig.key_flags().sign() {
                return Err(format!("primary key {} is not signing-capable", self.fp));
            }
            return Ok(());
        };
        let fp = &s.fp;
        if t < s.created {
            return Err(format!(
                "made {} before subkey {fp} was created ({})",
                fmt_time(t),
                fmt_time(s.created)
            ));
        }
        if let Some(r) = revoked_at(&s.revocations, t) {
            return Err(revocation_msg(&format!("subkey {fp}"), r, t));
        }
        let Some(b) = in_force(&s.bindings, t) else {
            let mut m = format!(
                "subkey {fp} has no usable binding signature (with back-signature) in force on {}",
                fmt_time(t)
            );
            if !s.refused.is_empty() {
                let mut r = s.refused.clone();
                r.sort();
                r.dedup();
                m.push_str(&format!(" (refused: {})", r.join("; ")));
            }
            return Err(m);
        };
        if !b.key_flags().sign() {
            return Err(format!("subkey {fp} is not signing-capable"));
        }
        if let Some(e) = expiry_of(b, s.created) {
            if e <= t {
                return Err(format!(
                    "subkey {fp} had expired on {} when the signature was made ({})",
                    fmt_time(e),
                    fmt_time(t)
                ));
            }
        }
        Ok(())
    }

    /// The part's expiry as the keyring says at `n` (the earlier of the
    /// primary's and the subkey's; falls back to what was in force at `t`).
    fn expiry(&self, part: Option<&Sub<'a>>, t: u64, n: u64) -> Option<u64> {
        let at = n.max(t);
        let p = in_force(&self.selfsigs, at).and_then(|s| expiry_of(s, self.created));
        let s = part.and_then(|s| in_force(&s.bindings, at).and_then(|b| expiry_of(b, s.created)));
        match (p, s) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Read every public key in a keyring file (binary or armored).
pub fn load_keyring(path: &Path) -> Result<Vec<SignedPublicKey>> {
    let bytes = crate::input::read_regular(path, "keyring", crate::input::MAX_KEYRING)
        .map_err(super::as_verification)?;
    let p = path.display();
    let bad_key = |e: pgp::errors::Error| verification(format!("{p}: cannot read a key: {e}"));
    let mut keys = Vec::new();
    if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
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
            keys.extend(iter.collect::<Result<Vec<_>, _>>().map_err(bad_key)?);
        }
    } else {
        let iter = SignedPublicKey::from_bytes_many(Cursor::new(&bytes[..]))
            .map_err(|e| verification(format!("{p}: cannot read keyring: {e}")))?;
        keys = iter.collect::<Result<_, _>>().map_err(bad_key)?;
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
    let bytes = crate::input::read_regular(path, "signature", crate::input::MAX_SIGNATURE)
        .map_err(super::as_verification)?;
    let p = path.display();
    let iter = if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        DetachedSignature::from_armor_many(Cursor::new(&bytes[..]))
            .map(|(iter, _)| iter)
            .map_err(|e| verification(format!("{p}: cannot read armored signature: {e}")))?
    } else {
        DetachedSignature::from_bytes_many(Cursor::new(&bytes[..]))
            .map_err(|e| verification(format!("{p}: cannot read signature: {e}")))?
    };
    let sigs: Vec<DetachedSignature> = iter
        .collect::<Result<_, _>>()
        .map_err(|e| verification(format!("{p}: cannot read a signature: {e}")))?;
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
    verify_detached_policy(
        data,
        data_name,
        sig_path,
        keyring_path,
        threshold,
        now,
        &SignaturePolicy::default(),
    )
}

/// Where a data signature's issuer is in the keyring.
struct Issuer {
    /// Primary fingerprint of the certificate.
    cert: String,
    /// Subkey fingerprint, or `None` for the primary key.
    sub: Option<String>,
}

/// Find the issuer of `sig` among the keyring's certificates (by issuer
/// fingerprint, else by key ID); searched in fingerprint order.
fn find_issuer(
    sig: &Signature,
    groups: &BTreeMap<String, Vec<&SignedPublicKey>>,
) -> Option<Issuer> {
    let fps: Vec<String> = sig.issuer_fingerprint().iter().map(|f| fp_hex(f)).collect();
    let ids: Vec<Vec<u8>> = sig
        .issuer_key_id()
        .iter()
        .map(|k| k.as_ref().to_vec())
        .collect();
    let hit = |fp: &str, id: &[u8]| {
        fps.iter().any(|f| f == fp) || (fps.is_empty() && ids.iter().any(|i| i == id))
    };
    for (cfp, copies) in groups {
        let pk = &copies[0].primary_key;
        if hit(cfp, pk.legacy_key_id().as_ref()) {
            return Some(Issuer {
                cert: cfp.clone(),
                sub: None,
            });
        }
        let mut subs: Vec<(String, Vec<u8>)> = copies
            .iter()
            .flat_map(|c| c.public_subkeys.iter())
            .map(|s| {
                (
                    fp_hex(&s.key.fingerprint()),
                    s.key.legacy_key_id().as_ref().to_vec(),
                )
            })
            .collect();
        subs.sort();
        if let Some((sfp, _)) = subs.iter().find(|(f, i)| hit(f, i)) {
            return Some(Issuer {
                cert: cfp.clone(),
                sub: Some(sfp.clone()),
            });
        }
    }
    None
}

/// [`verify_detached`] with an explicit time `now` (Unix seconds) and a
/// policy (`policy.at`, when set, replaces `now` as the reference time).
pub fn verify_detached_policy(
    data: &[u8],
    data_name: &str,
    sig_path: &Path,
    keyring_path: &Path,
    threshold: usize,
    now: u64,
    policy: &SignaturePolicy,
) -> Result<SignatureReport> {
    let n = policy.at.unwrap_or(now);
    let keys = load_keyring(keyring_path)?;
    let sigs = load_signatures(sig_path)?;
    let sp = sig_path.display();
    let mut groups: BTreeMap<String, Vec<&SignedPublicKey>> = BTreeMap::new();
    for k in &keys {
        groups
            .entry(fp_hex(&k.primary_key.fingerprint()))
            .or_default()
            .push(k);
    }
    let mut certs: BTreeMap<String, Cert<'_>> = BTreeMap::new();
    let mut report = SignatureReport {
        reference_time: n,
        ..SignatureReport::default()
    };
    for ds in &sigs {
        let sig = &ds.signature;
        let Some(issuer) = find_issuer(sig, &groups) else {
            let who = sig
                .issuer_fingerprint()
                .first()
                .map(|f| fp_hex(f))
                .or_else(|| {
                    sig.issuer_key_id()
                        .first()
                        .map(|i| crate::wheel::record::hex(i.as_ref()).to_uppercase())
                })
                .unwrap_or_else(|| "(no issuer)".into());
            report.unknown.push(who);
            continue;
        };
        let cert = certs
            .entry(issuer.cert.clone())
            .or_insert_with(|| Cert::merge(&groups[&issuer.cert]));
        let sub = issuer
            .sub
            .as_ref()
            .and_then(|f| cert.subs.iter().find(|s| &s.fp == f));
        let signing_fp = sub.map_or(cert.fp.clone(), |s| s.fp.clone());
        let who = match sub {
            None => format!("key {}", cert.fp),
            Some(s) => format!("key {} (subkey {})", cert.fp, s.fp),
        };
        match sig.typ() {
            Some(SignatureType::Binary) | Some(SignatureType::Text) => {}
            t => {
                return Err(verification(format!(
                    "{sp}: signature by {who}: expected a binary or text document signature, found type {t:?}"
                )))
            }
        }
        if !strong_hash(sig) {
            let name = sig
                .hash_alg()
                .map_or("unknown".to_string(), |h| h.to_string());
            return Err(verification(format!(
                "{sp}: signature by {who} over {data_name}: digest {name} refused: expected SHA-256 or stronger"
            )));
        }
        if let Some(c) = unknown_critical(sig) {
            return Err(verification(format!(
                "{sp}: signature by {who} over {data_name}: expected no unknown critical subpacket, found an {c} (RFC 9580: such a signature is invalid)"
            )));
        }
        let res = match sub {
            None => ds.verify(cert.key, data),
            Some(s) => ds.verify(s.key, data),
        };
        if let Err(e) = res {
            // rPGP's message may span lines (an assertion dump): keep its gist.
            let e = e.to_string();
            let gist = e.rsplit(": ").next().unwrap_or(&e).trim();
            return Err(verification(format!(
                "{sp}: BAD signature by {who} over {data_name}: expected a signature of these bytes, found one that does not verify ({gist})"
            )));
        }
        let t = created(sig);
        if t > n.saturating_add(CLOCK_SKEW) {
            return Err(verification(format!(
                "{sp}: signature by {who}: creation time {} is in the future (reference time {}, {CLOCK_SKEW} s of clock skew allowed)",
                fmt_time(t),
                fmt_time(n)
            )));
        }
        if let Err(problem) = cert.can_sign_at(sub, t) {
            return Err(verification(format!(
                "{sp}: signature by {who} over {data_name} made {} is cryptographically valid but not valid at its creation time: {problem}",
                fmt_time(t)
            )));
        }
        if let Some(e) = sig_expiry(sig) {
            if e <= n {
                return Err(verification(format!(
                    "{sp}: signature by {who} made {} expired on {} (reference time {})",
                    fmt_time(t),
                    fmt_time(e),
                    fmt_time(n)
                )));
            }
        }
        if let Some(max) = policy.max_age {
            if n.saturating_sub(t) > max {
                return Err(verification(format!(
                    "{sp}: signature by {who} made {}: expected one at most {max} s old at {}, found one {} s old",
                    fmt_time(t),
                    fmt_time(n),
                    n - t
                )));
            }
        }
        let key_expires = cert.expiry(sub, t, n);
        let retired = {
            let mut r = retired_after(&cert.revocations, t);
            if let Some(s) = sub {
                r = match (r, retired_after(&s.revocations, t)) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            r
        };
        if !report.good.iter().any(|g| g.key == cert.fp) {
            report.good.push(GoodSignature {
                key: cert.fp.clone(),
                signing_key: signing_fp,
                created: u32::try_from(t).unwrap_or(u32::MAX),
                key_expires,
                key_expired_since: key_expires.filter(|&e| e <= n),
                key_retired_since: retired,
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

/// Parse a `--at` time: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS[Z]` (UTC; a space
/// may replace the `T`) or `@SECONDS` since the epoch.
pub fn parse_time(s: &str) -> Result<u64> {
    let bad = || {
        anyhow::anyhow!("time {s:?}: expected YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS[Z] (UTC) or @SECONDS")
    };
    if let Some(n) = s.strip_prefix('@') {
        return n.parse::<u64>().map_err(|_| bad());
    }
    let s2 = s.strip_suffix('Z').unwrap_or(s);
    let (date, time) = match s2.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (s2, None),
    };
    let num = |p: &str, len: usize| -> Result<u64> {
        if p.len() != len || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        p.parse::<u64>().map_err(|_| bad())
    };
    let d: Vec<&str> = date.split('-').collect();
    if d.len() != 3 {
        return Err(bad());
    }
    let (y, m, day) = (num(d[0], 4)?, num(d[1], 2)?, num(d[2], 2)?);
    if y < 1970 {
        return Err(bad());
    }
    let days =
        crate::sde::days_from_civil(y as i64, m as i64, day as i64).map_err(|_| bad())? as u64;
    let (hh, mm, ss) = match time {
        None => (0, 0, 0),
        Some(t) => {
            let p: Vec<&str> = t.split(':').collect();
            if p.len() != 3 {
                return Err(bad());
            }
            let (hh, mm, ss) = (num(p[0], 2)?, num(p[1], 2)?, num(p[2], 2)?);
            if hh > 23 || mm > 59 || ss > 59 {
                return Err(bad());
            }
            (hh, mm, ss)
        }
    };
    Ok(days * 86400 + hh * 3600 + mm * 60 + ss)
}

/// Parse a duration: seconds, or a number with `s`, `m`, `h`, `d`, `w` or
/// `y` (365 days).
pub fn parse_duration(s: &str) -> Result<u64> {
    let bad = || {
        anyhow::anyhow!(
            "duration {s:?}: expected a number with an optional unit s, m, h, d, w or y (e.g. 90d)"
        )
    };
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        "w" => 7 * 86400,
        "y" => 365 * 86400,
        _ => return Err(bad()),
    };
    n.checked_mul(mult).ok_or_else(bad)
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
    fn parses_times_and_durations() {
        assert_eq!(parse_time("2024-01-01").unwrap(), 1_704_067_200);
        assert_eq!(
            parse_time("2000-02-29T01:01:01Z").unwrap(),
            951_782_400 + 3661
        );
        assert_eq!(
            parse_time("2000-02-29 01:01:01").unwrap(),
            951_782_400 + 3661
        );
        assert_eq!(parse_time("@42").unwrap(), 42);
        for t in [1_704_067_200u64, 951_782_400 + 3661, 4_102_444_799] {
            let s = fmt_time(t).replace(" UTC", "");
            assert_eq!(parse_time(&s).unwrap(), t, "{s}");
        }
        for bad in [
            "",
            "2023-02-29",
            "2024-13-01",
            "24-01-01",
            "2024-01-01T25:00:00",
            "1969-12-31",
            "2024-01-01T00:00",
            "now",
            "@-1",
            "2024-1-01",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_duration("90d").unwrap(), 90 * 86400);
        assert_eq!(parse_duration("3600").unwrap(), 3600);
        assert_eq!(parse_duration("2w").unwrap(), 14 * 86400);
        for bad in ["", "d", "1x", "-1d", "1.5d", "99999999999999999999y"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    /// A data signature carrying an unknown subpacket (type 100, in the
    /// experimental range rPGP itself lets through): invalid when marked
    /// critical, fine when not (so the check is what refuses it). gpg cannot
    /// make one, so it is made here with rPGP and test key A's subkey.
    #[test]
    fn unknown_critical_subpacket_type_100_invalidates_a_data_signature() {
        use pgp::composed::SignedSecretKey;
        use pgp::packet::{SignatureConfig, Subpacket};
        use pgp::types::{Password, Timestamp};
        let keys = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/keys");
        let (sk, _) = SignedSecretKey::from_armor_single(
            std::fs::File::open(keys.join("test-key-a.secret.asc")).unwrap(),
        )
        .unwrap();
        let sub = &sk.secret_subkeys[0].key;
        let data = b"sha256sums\n";
        let d = tempfile::tempdir().unwrap();
        let sig_path = d.path().join("s.sig");
        let kr = keys.join("test-key-a.public.gpg");
        let t = 1_717_200_000u32;
        for critical in [false, true] {
            let mut cfg = SignatureConfig::v4(
                SignatureType::Binary,
                sub.algorithm(),
                HashAlgorithm::Sha256,
            );
            let exp = SubpacketData::Experimental(100, vec![1u8, 2, 3].into());
            cfg.hashed_subpackets = vec![
                Subpacket::regular(SubpacketData::SignatureCreationTime(Timestamp::from_secs(
                    t,
                )))
                .unwrap(),
                Subpacket::regular(SubpacketData::IssuerFingerprint(sub.fingerprint())).unwrap(),
                if critical {
                    Subpacket::critical(exp).unwrap()
                } else {
                    Subpacket::regular(exp).unwrap()
                },
            ];
            let sig = cfg.sign(sub, &Password::empty(), &data[..]).unwrap();
            std::fs::write(&sig_path, DetachedSignature::new(sig).to_bytes().unwrap()).unwrap();
            let r = verify_detached_policy(
                data,
                "list",
                &sig_path,
                &kr,
                1,
                u64::from(t) + 60,
                &SignaturePolicy::default(),
            );
            if critical {
                let err = r.unwrap_err();
                let e = format!("{err:#}");
                assert!(e.contains("unknown critical subpacket type 100"), "{e}");
                assert_eq!(crate::exit::code_for(&err), 3);
            } else {
                assert_eq!(r.unwrap().good.len(), 1);
            }
        }
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
        let c = Cert::merge(&[&a[0]]);
        assert_eq!(
            c.fp,
            std::fs::read_to_string(dir.join("test-key-a.fingerprint"))
                .unwrap()
                .trim()
        );
        // A's primary is certify-only; its subkey signs.
        assert!(c
            .can_sign_at(None, now)
            .unwrap_err()
            .contains("not signing-capable"));
        assert!(c.subs.iter().any(|s| c.can_sign_at(Some(s), now).is_ok()));
        // Before the key existed: refused.
        assert!(c
            .can_sign_at(Some(&c.subs[0]), 0)
            .unwrap_err()
            .contains("before key"));
        // The same certificate twice merges into one with the same verdict.
        let a2 = load_keyring(&dir.join("test-key-a.public.gpg")).unwrap();
        let m = Cert::merge(&[&a[0], &a2[0]]);
        assert_eq!(m.subs.len(), c.subs.len());
        assert_eq!(
            m.subs
                .iter()
                .map(|s| m.can_sign_at(Some(s), now).is_ok())
                .collect::<Vec<_>>(),
            c.subs
                .iter()
                .map(|s| c.can_sign_at(Some(s), now).is_ok())
                .collect::<Vec<_>>()
        );
    }
}
