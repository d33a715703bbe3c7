//! `venvdeb wheels index`: a static PEP 503 "simple" index of a wheel
//! directory that pip can install from (`--index-url file://…/simple`):
//!
//! - `simple/index.html`: one link per project (`<normalized-name>/`);
//! - `simple/<name>/index.html`: one link per wheel, its href carrying
//!   `#sha256=`, `data-requires-python` from METADATA's `Requires-Python`
//!   (HTML-escaped), and `data-dist-info-metadata` / `data-core-metadata`
//!   (PEP 658 / PEP 714) with the sha256 of the `.metadata` file;
//! - `simple/<name>/<wheel>` and `simple/<name>/<wheel>.metadata` (the
//!   wheel's METADATA, byte for byte);
//! - with `--sums FILE --signature FILE`, `simple/sha256sums.txt` and
//!   `simple/sha256sums.txt.asc`: the signed list at the index root (the
//!   URL pip takes as `--index-url`), byte for byte, which is what
//!   `venvdeb wheels sync` fetches and verifies first. The list must name
//!   exactly the indexed wheels with their sha256 (checked, exit 3).
//!
//! Projects and files are sorted bytewise and nothing depends on the time or
//! the directory: the same wheels give the same tree. The tree is written
//! beside the destination and renamed into place as a whole.
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

use super::{digest, sums};
use crate::wheel::archive::{WheelArchive, DEFAULT_MAX_UNCOMPRESSED};
use crate::wheel::contents::read_wheel;

struct IndexedWheel {
    file_name: String,
    sha256: String,
    metadata: Vec<u8>,
    requires_python: Option<String>,
}

/// Escape text for an HTML attribute value or element content.
pub(crate) fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#x27;"),
            c => o.push(c),
        }
    }
    o
}

/// Percent-encode a file name for use in an href (or a URL path segment).
pub(crate) fn url_escape(s: &str) -> String {
    crate::encoding::percent_encode(s, b"-._~!")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.0\">\n    <title>{t}</title>\n  </head>\n  <body>\n    <h1>{t}</h1>\n{body}  </body>\n</html>\n",
        t = html_escape(title)
    )
}

fn project_page(name: &str, wheels: &[IndexedWheel]) -> String {
    let mut body = String::new();
    for w in wheels {
        let md = crate::encoding::hex(&<sha2::Sha256 as sha2::Digest>::digest(&w.metadata));
        let rp = w
            .requires_python
            .as_ref()
            .map(|r| format!(" data-requires-python=\"{}\"", html_escape(r)))
            .unwrap_or_default();
        body.push_str(&format!(
            "    <a href=\"{href}#sha256={sha}\"{rp} data-dist-info-metadata=\"sha256={md}\" data-core-metadata=\"sha256={md}\">{text}</a><br>\n",
            href = url_escape(&w.file_name),
            sha = w.sha256,
            text = html_escape(&w.file_name),
        ));
    }
    page(&format!("Links for {name}"), &body)
}

fn root_page(projects: &BTreeMap<String, Vec<IndexedWheel>>) -> String {
    let mut body = String::new();
    for name in projects.keys() {
        body.push_str(&format!(
            "    <a href=\"{n}/\">{n}</a><br>\n",
            n = html_escape(name)
        ));
    }
    page("Simple index", &body)
}

/// Check each wheel with `crate::wheel` (container, RECORD, METADATA
/// against the file name) and keep its METADATA bytes.
fn scan(dir: &Path) -> Result<BTreeMap<String, Vec<IndexedWheel>>> {
    let mut projects: BTreeMap<String, Vec<IndexedWheel>> = BTreeMap::new();
    for (file_name, path) in sums::wheel_files(dir)? {
        let contents = read_wheel(&path, DEFAULT_MAX_UNCOMPRESSED, None, |_, _| Ok(()))?;
        let metadata = WheelArchive::open(&path, DEFAULT_MAX_UNCOMPRESSED)?
            .read_entry(&format!("{}/METADATA", contents.dist_info), 16 << 20)?;
        projects
            .entry(contents.file_name.normalized_name())
            .or_default()
            .push(IndexedWheel {
                file_name,
                sha256: crate::encoding::hex(&contents.summary.sha256),
                requires_python: contents.metadata.requires_python.clone(),
                metadata,
            });
    }
    Ok(projects)
}

/// The signed wheel list published at the index root.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignedList<'a> {
    pub sums: &'a Path,
    pub signature: &'a Path,
}

/// The list's file name at the index root.
pub(crate) const SUMS_NAME: &str = "sha256sums.txt";
/// Its detached signature's file name at the index root.
pub(crate) const SIGNATURE_NAME: &str = "sha256sums.txt.asc";

/// Largest list or signature published (both are small text files).
const MAX_LIST: u64 = 64 << 20;

/// Read the list and its signature, and check that the list names exactly
/// the wheels being indexed, each with its sha256.
fn read_signed_list(
    list: SignedList<'_>,
    projects: &BTreeMap<String, Vec<IndexedWheel>>,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let read = |p: &Path| -> Result<Vec<u8>> {
        crate::input::read_regular(p, "signed list or signature", MAX_LIST)
    };
    let sums_bytes = read(list.sums)?;
    let sig_bytes = read(list.signature)?;
    let what = list.sums.display().to_string();
    let parsed = crate::verify::sums::Sums::parse(&sums_bytes, &what)?;
    let mut indexed: BTreeMap<&str, &str> = BTreeMap::new();
    for w in projects.values().flatten() {
        indexed.insert(&w.file_name, &w.sha256);
    }
    for (name, entry) in &parsed.entries {
        let listed = crate::encoding::hex(&entry.sha256);
        match indexed.get(name.as_str()) {
            None => {
                return Err(crate::exit::verification(format!(
                    "{what} line {}: lists {name} (sha256 {listed}), which is not among the wheels indexed",
                    entry.line
                )))
            }
            Some(sha) if *sha != listed => {
                return Err(crate::exit::verification(format!(
                    "{what} line {}: {name}: expected sha256 {listed}, the indexed wheel has {sha}",
                    entry.line
                )))
            }
            Some(_) => {}
        }
    }
    for (name, sha) in &indexed {
        if !parsed.entries.contains_key(*name) {
            return Err(crate::exit::verification(format!(
                "{what}: does not list the indexed wheel {name} (sha256 {sha})"
            )));
        }
    }
    Ok((sums_bytes, sig_bytes))
}

/// Write `output/simple/` for the wheels of `dir` (and the signed list at
/// its root when given); returns the project count.
pub(crate) fn write(dir: &Path, output: &Path, list: Option<SignedList<'_>>) -> Result<usize> {
    let projects = scan(dir)?;
    let signed = list.map(|l| read_signed_list(l, &projects)).transpose()?;
    fs::create_dir_all(output).with_context(|| format!("creating {}", output.display()))?;
    let dest = output.join("simple");
    let tmp = crate::atomic::TempDir::beside(&dest)?;
    let t = tmp.path();
    write_file(&t.join("index.html"), root_page(&projects).as_bytes())?;
    if let Some((sums_bytes, sig_bytes)) = &signed {
        write_file(&t.join(SUMS_NAME), sums_bytes)?;
        write_file(&t.join(SIGNATURE_NAME), sig_bytes)?;
    }
    for (name, wheels) in &projects {
        let pd = t.join(name);
        fs::create_dir(&pd).with_context(|| format!("creating {}", pd.display()))?;
        write_file(
            &pd.join("index.html"),
            project_page(name, wheels).as_bytes(),
        )?;
        for w in wheels {
            let dest = pd.join(&w.file_name);
            let (sha, _) = digest::copy_hashed(&dir.join(&w.file_name), &dest)?;
            if sha != w.sha256 {
                return Err(crate::exit::verification(format!(
                    "{}: changed while indexing: sha256 was {}, now {sha}",
                    dir.join(&w.file_name).display(),
                    w.sha256
                )));
            }
            digest::set_mode(&dest, 0o644)?;
            write_file(&pd.join(format!("{}.metadata", w.file_name)), &w.metadata)?;
        }
        digest::set_mode(&pd, 0o755)?;
    }
    digest::set_mode(t, 0o755)?;
    tmp.replace(&dest)?;
    Ok(projects.len())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    digest::set_mode(path, 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_links() {
        assert_eq!(html_escape(">=3.8, <4"), "&gt;=3.8, &lt;4");
        assert_eq!(
            url_escape("a-1.0+local-py3-none-any.whl"),
            "a-1.0%2Blocal-py3-none-any.whl"
        );
        let w = IndexedWheel {
            file_name: "a-1.0-py3-none-any.whl".into(),
            sha256: "0".repeat(64),
            metadata: b"Name: a\n".to_vec(),
            requires_python: Some(">=3.8".into()),
        };
        let p = project_page("a", &[w]);
        assert!(p.contains(&format!(
            "href=\"a-1.0-py3-none-any.whl#sha256={}\" data-requires-python=\"&gt;=3.8\"",
            "0".repeat(64)
        )));
        assert!(p.contains("data-core-metadata=\"sha256="));
    }
}
