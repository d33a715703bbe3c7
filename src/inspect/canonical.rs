//! Canonical JSON for the documents venvdeb writes (manifest, SBOM): keys
//! sorted at every level, two-space pretty printing, a final newline — the
//! same bytes for the same value on every machine.
use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::Serialize;

/// Rebuild a JSON value with every object's keys inserted in sorted order,
/// so that the output is sorted whether or not serde_json preserves order.
pub fn canonical(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let sorted: BTreeMap<String, serde_json::Value> =
                m.into_iter().map(|(k, v)| (k, canonical(v))).collect();
            serde_json::Value::Object(sorted.into_iter().collect())
        }
        serde_json::Value::Array(a) => {
            serde_json::Value::Array(a.into_iter().map(canonical).collect())
        }
        other => other,
    }
}

/// Serialize deterministically: sorted keys, 2-space indent, final newline.
pub fn to_canonical_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let v = canonical(serde_json::to_value(value).context("serializing to JSON")?);
    let mut out = serde_json::to_vec_pretty(&v).context("serializing to JSON")?;
    out.push(b'\n');
    Ok(out)
}
