//! What `venvdeb verify` prints on success: a short human summary, or with
//! `--json` the same as a machine-readable report (stable field order).
use serde::Serialize;

use crate::verify::signature::fmt_time;
use crate::verify::VerifiedWheelhouse;

#[derive(Debug, Serialize)]
pub(crate) struct Report {
    /// `--at`: the time signatures were judged at (Unix seconds); null:
    /// the current time (left out so that the report does not depend on it).
    pub at: Option<u64>,
    pub wheels: usize,
    pub bytes: u64,
    pub uncompressed_bytes: u64,
    pub signers: Vec<Signer>,
    pub unknown_signers: Vec<String>,
    pub requirements: Vec<Requirement>,
    pub skipped_requirements: Vec<String>,
    pub unselected_wheels: Vec<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Signer {
    pub fingerprint: String,
    pub signing_key: String,
    /// Signature creation time (Unix seconds) and the same in UTC.
    pub created: u32,
    pub created_utc: String,
    /// When the signing key expires (primary or subkey, the earlier), as the
    /// keyring says at the reference time; null: never.
    pub key_expires: Option<u64>,
    /// Set when the key has expired since the signature was made.
    pub key_expired_since: Option<u64>,
    /// Set when the key was retired or superseded (a soft revocation) after
    /// the signature was made.
    pub key_retired_since: Option<u64>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Requirement {
    pub name: String,
    pub version: String,
    pub marker: Option<String>,
    pub origin: String,
    pub wheels: Vec<Wheel>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Wheel {
    pub file: String,
    pub sha256: String,
    pub size: u64,
    pub files: usize,
    pub tags: Vec<String>,
}

impl Report {
    pub(crate) fn new(v: &VerifiedWheelhouse) -> Report {
        Report {
            at: v.at(),
            wheels: v.wheels().count(),
            bytes: v.wheels().map(|w| w.size()).sum(),
            uncompressed_bytes: v.wheels().map(|w| w.uncompressed_size()).sum(),
            signers: v
                .signatures()
                .iter()
                .map(|g| Signer {
                    fingerprint: g.key.clone(),
                    signing_key: g.signing_key.clone(),
                    created: g.created,
                    created_utc: fmt_time(u64::from(g.created)),
                    key_expires: g.key_expires,
                    key_expired_since: g.key_expired_since,
                    key_retired_since: g.key_retired_since,
                })
                .collect(),
            unknown_signers: v.unknown_signers().to_vec(),
            requirements: v
                .requirements()
                .iter()
                .map(|r| Requirement {
                    name: r.name().to_string(),
                    version: r.version().to_string(),
                    marker: r.marker().map(str::to_string),
                    origin: r.origin().to_string(),
                    wheels: r
                        .wheels()
                        .iter()
                        .map(|w| Wheel {
                            file: w.file_name().to_string(),
                            sha256: w.sha256_hex(),
                            size: w.size(),
                            files: w.record().entries.len(),
                            tags: w.tags().iter().map(|t| t.to_string()).collect(),
                        })
                        .collect(),
                })
                .collect(),
            skipped_requirements: v.skipped().to_vec(),
            unselected_wheels: v.unselected().to_vec(),
        }
    }

    /// The human summary; `verbose` adds every wheel and what was left alone.
    pub(crate) fn text(&self, verbose: bool) -> String {
        let mut s = String::new();
        for g in &self.signers {
            if g.signing_key == g.fingerprint {
                s.push_str(&format!("good signature from {}", g.fingerprint));
            } else {
                s.push_str(&format!(
                    "good signature from {} (subkey {})",
                    g.fingerprint, g.signing_key
                ));
            }
            s.push_str(&format!(", made {}", g.created_utc));
            match (g.key_expired_since, g.key_expires) {
                (Some(e), _) => s.push_str(&format!(
                    "; key expired since {} (after the signature: still valid)",
                    fmt_time(e)
                )),
                (None, Some(e)) => s.push_str(&format!("; key expires {}", fmt_time(e))),
                (None, None) => {}
            }
            if let Some(r) = g.key_retired_since {
                s.push_str(&format!(
                    "; key retired since {} (after the signature: still valid)",
                    fmt_time(r)
                ));
            }
            s.push('\n');
        }
        for u in &self.unknown_signers {
            s.push_str(&format!(
                "note: signature by {u}, a key not in the keyring: not counted\n"
            ));
        }
        if verbose {
            for r in &self.requirements {
                for w in &r.wheels {
                    s.push_str(&format!("verified {} sha256:{}\n", w.file, w.sha256));
                }
            }
            for k in &self.skipped_requirements {
                s.push_str(&format!("skipped (marker false for the target): {k}\n"));
            }
            for u in &self.unselected_wheels {
                s.push_str(&format!("not selected by the lock (left alone): {u}\n"));
            }
        }
        let count = crate::exit::count;
        s.push_str(&format!(
            "verified {} ({} bytes, {} uncompressed) for {}; {}\n",
            count(self.wheels, "wheel"),
            self.bytes,
            self.uncompressed_bytes,
            count(self.requirements.len(), "requirement"),
            count(self.signers.len(), "signer")
        ));
        s
    }
}
