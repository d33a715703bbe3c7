//! Comparing two Debian packages and naming every difference: the files
//! themselves, the ar members and their headers, the compressed and
//! uncompressed tars, control fields, maintainer scripts and other control
//! files, entries added or removed, and for each path its content (sha256),
//! size, mode, owner, mtime, link target and tar header encoding.
//!
//! Both packages are read as streams, in parallel (`view::read_view`); only
//! headers and hashes are kept. Content diffs of text files are `content`'s.
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use super::controlfile::parse_fields;
use super::debreader::{ArMember, Part, TarMember, AR_FIELDS};
use super::tarstream::FIELDS;
use super::view::{read_view, EntryInfo, PackageView};

/// One named difference between package A and package B.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Difference {
    /// Where: "deb", "ar", "control.tar", "data.tar", "control".
    pub area: String,
    /// The ar member, tar path or control field concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// What differs: "sha256", "mode", "only in B", "header encoding: mtime", …
    pub what: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub a: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub b: Option<String>,
}

impl Difference {
    fn new(area: &str, path: Option<&str>, what: impl Into<String>) -> Self {
        Difference {
            area: area.to_string(),
            path: path.map(str::to_string),
            what: what.into(),
            a: None,
            b: None,
        }
    }

    fn values(mut self, a: impl Into<String>, b: impl Into<String>) -> Self {
        self.a = Some(a.into());
        self.b = Some(b.into());
        self
    }

    /// One line of the text report (newlines inside values shown as `\n`,
    /// so that each difference is one line).
    pub(crate) fn line(&self) -> String {
        let mut s = self.area.clone();
        if let Some(p) = &self.path {
            s.push(' ');
            s.push_str(p);
        }
        s.push_str(": ");
        s.push_str(&self.what);
        match (&self.a, &self.b) {
            (Some(a), Some(b)) => s.push_str(&format!(": {a} -> {b}")),
            (Some(a), None) => s.push_str(&format!(": {a}")),
            (None, Some(b)) => s.push_str(&format!(": {b}")),
            (None, None) => {}
        }
        s.replace('\n', "\\n")
    }
}

/// The outcome of a comparison.
#[derive(Debug)]
pub(crate) struct Comparison {
    pub a: PackageView,
    pub b: PackageView,
    pub differences: Vec<Difference>,
}

/// Quick byte-for-byte check of two files (streamed): true when identical.
pub(crate) fn files_identical(a: &Path, b: &Path) -> Result<bool> {
    let ma = std::fs::metadata(a).with_context(|| format!("reading {}", a.display()))?;
    let mb = std::fs::metadata(b).with_context(|| format!("reading {}", b.display()))?;
    if ma.len() != mb.len() {
        return Ok(false);
    }
    let mut fa = std::io::BufReader::with_capacity(1 << 16, std::fs::File::open(a)?);
    let mut fb = std::io::BufReader::with_capacity(1 << 16, std::fs::File::open(b)?);
    let mut ba = vec![0u8; 1 << 16];
    let mut bb = vec![0u8; 1 << 16];
    loop {
        let n = read_full(&mut fa, &mut ba).with_context(|| format!("reading {}", a.display()))?;
        let m = read_full(&mut fb, &mut bb).with_context(|| format!("reading {}", b.display()))?;
        if n != m || ba[..n] != bb[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        let n = r.read(&mut buf[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got)
}

/// Read both packages (in parallel) and compare them.
pub(crate) fn compare_files(a: &Path, b: &Path) -> Result<Comparison> {
    let (va, vb) = std::thread::scope(|s| {
        let ha = s.spawn(|| read_view(a));
        let vb = read_view(b);
        let va = ha
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("reader thread panicked")));
        (va, vb)
    });
    let (va, vb) = (va?, vb?);
    let differences = compare_views(&va, &vb);
    Ok(Comparison {
        a: va,
        b: vb,
        differences,
    })
}

/// Printable form of raw header bytes: ASCII as is, others escaped.
pub(crate) fn escape(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in bytes {
        match b {
            0 => s.push_str("\\0"),
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    s
}

/// Compare two package views; the differences in a stable order.
pub(crate) fn compare_views(a: &PackageView, b: &PackageView) -> Vec<Difference> {
    let mut out = Vec::new();
    if a.summary.sha256 == b.summary.sha256 && a.summary.size == b.summary.size {
        return out;
    }
    if a.summary.size != b.summary.size {
        out.push(
            Difference::new("deb", None, "size")
                .values(a.summary.size.to_string(), b.summary.size.to_string()),
        );
    }
    out.push(Difference::new("deb", None, "sha256").values(&a.summary.sha256, &b.summary.sha256));
    let before = out.len();
    compare_ar(a, b, &mut out);
    for part in [Part::Control, Part::Data] {
        compare_tar(part, a, b, &mut out);
    }
    compare_control_fields(a, b, &mut out);
    if out.len() == before {
        out.push(Difference::new(
            "deb",
            None,
            "bytes differ outside every ar member and header (ar padding or trailing data)",
        ));
    }
    out
}

/// What a member is for: "control.tar" and "data.tar" whatever their
/// compression suffix, else its name. Members are matched by role.
fn role(name: &str) -> &str {
    if name.starts_with("control.tar") {
        "control.tar"
    } else if name.starts_with("data.tar") {
        "data.tar"
    } else {
        name
    }
}

fn member_by_role<'a>(v: &'a PackageView, name: &str) -> Option<&'a ArMember> {
    v.summary
        .members
        .iter()
        .find(|m| role(&m.name) == role(name))
}

fn compare_ar(a: &PackageView, b: &PackageView, out: &mut Vec<Difference>) {
    let names_a: Vec<&str> = a.summary.members.iter().map(|m| m.name.as_str()).collect();
    let names_b: Vec<&str> = b.summary.members.iter().map(|m| m.name.as_str()).collect();
    let roles_a: Vec<&str> = names_a.iter().map(|n| role(n)).collect();
    let roles_b: Vec<&str> = names_b.iter().map(|n| role(n)).collect();
    if roles_a != roles_b {
        out.push(
            Difference::new("ar", None, "members").values(names_a.join(", "), names_b.join(", ")),
        );
    }
    if a.summary.debian_binary != b.summary.debian_binary {
        out.push(
            Difference::new("ar", Some("debian-binary"), "content").values(
                escape(&a.summary.debian_binary),
                escape(&b.summary.debian_binary),
            ),
        );
    }
    for ma in &a.summary.members {
        let Some(mb) = member_by_role(b, &ma.name) else {
            out.push(
                Difference::new("ar", Some(&ma.name), "only in A")
                    .values(format!("{} bytes", ma.size), "-"),
            );
            continue;
        };
        let p = Some(ma.name.as_str());
        let fields: [(&str, String, String); 6] = [
            ("name", ma.name.clone(), mb.name.clone()),
            ("mtime", ma.mtime.to_string(), mb.mtime.to_string()),
            ("uid", ma.uid.to_string(), mb.uid.to_string()),
            ("gid", ma.gid.to_string(), mb.gid.to_string()),
            ("mode", format!("{:o}", ma.mode), format!("{:o}", mb.mode)),
            ("size", ma.size.to_string(), mb.size.to_string()),
        ];
        let mut semantic = BTreeSet::new();
        for (what, va, vb) in fields {
            if va != vb {
                semantic.insert(what);
                let what = if what == "name" {
                    "name".to_string()
                } else {
                    format!("header {what}")
                };
                out.push(Difference::new("ar", p, what).values(va, vb));
            }
        }
        for &(field, lo, hi) in AR_FIELDS {
            if ma.header[lo..hi] != mb.header[lo..hi] && !semantic.contains(field) {
                out.push(
                    Difference::new("ar", p, format!("header encoding: {field}"))
                        .values(escape(&ma.header[lo..hi]), escape(&mb.header[lo..hi])),
                );
            }
        }
        if ma.sha256 != mb.sha256 {
            out.push(Difference::new("ar", p, "sha256").values(&ma.sha256, &mb.sha256));
        }
        if ma.padding != mb.padding && ma.size == mb.size {
            let show = |p: Option<u8>| p.map(|b| escape(&[b])).unwrap_or_else(|| "none".into());
            out.push(
                Difference::new("ar", p, "padding byte").values(show(ma.padding), show(mb.padding)),
            );
        }
        if ma.index != mb.index && roles_a == roles_b {
            out.push(
                Difference::new("ar", p, "position")
                    .values(ma.index.to_string(), mb.index.to_string()),
            );
        }
    }
    for mb in &b.summary.members {
        if member_by_role(a, &mb.name).is_none() {
            out.push(
                Difference::new("ar", Some(&mb.name), "only in B")
                    .values("-", format!("{} bytes", mb.size)),
            );
        }
    }
}

fn tar_of(v: &PackageView, part: Part) -> Option<&TarMember> {
    v.summary.tars.iter().find(|t| t.part == part)
}

fn compare_tar(part: Part, a: &PackageView, b: &PackageView, out: &mut Vec<Difference>) {
    let area = part.name();
    let (Some(ta), Some(tb)) = (tar_of(a, part), tar_of(b, part)) else {
        return;
    };
    if ta.codec != tb.codec {
        out.push(
            Difference::new(area, None, "compression").values(ta.codec.name(), tb.codec.name()),
        );
    }
    let member_differs = member_by_role(a, &ta.member).map(|m| &m.sha256)
        != member_by_role(b, &tb.member).map(|m| &m.sha256);
    if ta.tar_sha256 == tb.tar_sha256 {
        if member_differs {
            out.push(Difference::new(
                area,
                None,
                "compressed bytes differ but the uncompressed tar is identical (compressor or its settings)",
            ));
        }
        return;
    }
    out.push(
        Difference::new(area, None, "uncompressed sha256").values(&ta.tar_sha256, &tb.tar_sha256),
    );
    if ta.tar_length != tb.tar_length {
        out.push(
            Difference::new(area, None, "uncompressed length")
                .values(ta.tar_length.to_string(), tb.tar_length.to_string()),
        );
    }
    if ta.trailer.zero_blocks != tb.trailer.zero_blocks {
        out.push(
            Difference::new(area, None, "zero blocks after the last entry").values(
                ta.trailer.zero_blocks.to_string(),
                tb.trailer.zero_blocks.to_string(),
            ),
        );
    }
    if ta.trailer.garbage_after_end != tb.trailer.garbage_after_end {
        out.push(
            Difference::new(area, None, "data after the end-of-archive marker").values(
                ta.trailer.garbage_after_end.to_string(),
                tb.trailer.garbage_after_end.to_string(),
            ),
        );
    }
    if ta.trailer.global_pax != tb.trailer.global_pax {
        out.push(Difference::new(area, None, "pax global headers").values(
            ta.trailer.global_pax.join(" "),
            tb.trailer.global_pax.join(" "),
        ));
    }
    if ta.trailing_compressed != tb.trailing_compressed {
        out.push(
            Difference::new(area, None, "bytes after the compressed stream").values(
                ta.trailing_compressed.to_string(),
                tb.trailing_compressed.to_string(),
            ),
        );
    }
    compare_entries(part, a.entries(part), b.entries(part), out);
}

fn describe(e: &EntryInfo) -> String {
    let en = &e.entry;
    match &en.link {
        Some(l) => format!("{} -> {l}, mode {:04o}", en.kind.name(), en.mode),
        None => format!(
            "{}, {} bytes, mode {:04o}",
            en.kind.name(),
            en.size,
            en.mode
        ),
    }
}

fn label(part: Part, key: &str) -> String {
    if part == Part::Control {
        let base = key.trim_start_matches("./");
        if matches!(base, "preinst" | "postinst" | "prerm" | "postrm" | "config") {
            return format!("{key} (maintainer script)");
        }
    }
    key.to_string()
}

fn compare_entries(
    part: Part,
    a: &std::collections::BTreeMap<String, EntryInfo>,
    b: &std::collections::BTreeMap<String, EntryInfo>,
    out: &mut Vec<Difference>,
) {
    let area = part.name();
    for (key, ea) in a {
        let l = label(part, key);
        match b.get(key) {
            None => {
                out.push(Difference::new(area, Some(&l), "only in A").values(describe(ea), "-"))
            }
            Some(eb) => compare_entry(area, &l, ea, eb, out),
        }
    }
    for (key, eb) in b {
        if !a.contains_key(key) {
            out.push(
                Difference::new(area, Some(&label(part, key)), "only in B")
                    .values("-", describe(eb)),
            );
        }
    }
    // Order of the entries both have.
    let mut order_a: Vec<(&usize, &String)> = a
        .iter()
        .filter(|(k, _)| b.contains_key(*k))
        .map(|(k, e)| (&e.entry.index, k))
        .collect();
    let mut order_b: Vec<(&usize, &String)> = b
        .iter()
        .filter(|(k, _)| a.contains_key(*k))
        .map(|(k, e)| (&e.entry.index, k))
        .collect();
    order_a.sort();
    order_b.sort();
    if let Some(pos) = order_a.iter().zip(&order_b).position(|(x, y)| x.1 != y.1) {
        out.push(
            Difference::new(
                area,
                None,
                format!("entry order (first difference at common entry #{pos})"),
            )
            .values(order_a[pos].1.clone(), order_b[pos].1.clone()),
        );
    }
}

fn compare_entry(
    area: &str,
    path: &str,
    ea: &EntryInfo,
    eb: &EntryInfo,
    out: &mut Vec<Difference>,
) {
    let (a, b) = (&ea.entry, &eb.entry);
    let p = Some(path);
    let opt = |l: &Option<String>| l.clone().unwrap_or_else(|| "-".into());
    // (name, raw header fields it covers, value in A, value in B)
    let checks: Vec<(&str, &[&str], String, String)> = vec![
        ("type", &["typeflag"], a.kind.name(), b.kind.name()),
        ("sha256", &[], ea.sha256.clone(), eb.sha256.clone()),
        ("size", &["size"], a.size.to_string(), b.size.to_string()),
        (
            "mode",
            &["mode"],
            format!("{:04o}", a.mode),
            format!("{:04o}", b.mode),
        ),
        (
            "owner",
            &["uid", "gid"],
            format!("{}:{}", a.uid, a.gid),
            format!("{}:{}", b.uid, b.gid),
        ),
        (
            "owner names",
            &["uname", "gname"],
            format!("{}:{}", a.uname, a.gname),
            format!("{}:{}", b.uname, b.gname),
        ),
        (
            "mtime",
            &["mtime"],
            a.mtime.to_string(),
            b.mtime.to_string(),
        ),
        ("link target", &["linkname"], opt(&a.link), opt(&b.link)),
        (
            "device",
            &["devmajor", "devminor"],
            format!("{},{}", a.devmajor, a.devminor),
            format!("{},{}", b.devmajor, b.devminor),
        ),
        (
            "tar format",
            &["magic", "version"],
            a.format.to_string(),
            b.format.to_string(),
        ),
        (
            "tar extensions",
            &[],
            a.extensions.join(" "),
            b.extensions.join(" "),
        ),
    ];
    let mut covered: BTreeSet<&str> = BTreeSet::new();
    for (what, fields, va, vb) in checks {
        if va != vb {
            covered.extend(fields.iter().copied());
            out.push(Difference::new(area, p, what).values(va, vb));
        }
    }
    // The name field (and ustar prefix) hold the path, which matched, but a
    // long-name encoding may still differ: that is reported by the extensions
    // check and the raw fields below.
    let raw_differs: Vec<&(&str, usize, usize)> = FIELDS
        .iter()
        .filter(|(_, lo, hi)| a.header[*lo..*hi] != b.header[*lo..*hi])
        .collect();
    let others = raw_differs.iter().any(|(f, _, _)| *f != "chksum");
    for &&(field, lo, hi) in &raw_differs {
        if covered.contains(field) || (field == "chksum" && others) {
            continue;
        }
        out.push(
            Difference::new(area, p, format!("header encoding: {field}"))
                .values(escape(&a.header[lo..hi]), escape(&b.header[lo..hi])),
        );
    }
}

fn compare_control_fields(a: &PackageView, b: &PackageView, out: &mut Vec<Difference>) {
    let text = |v: &PackageView| {
        v.control_files
            .get("./control")
            .or_else(|| v.control_files.get("control"))
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };
    let (Some(ta), Some(tb)) = (text(a), text(b)) else {
        return;
    };
    if ta == tb {
        return;
    }
    let fa = parse_fields(&ta);
    let fb = parse_fields(&tb);
    let ma: BTreeMap<&str, &str> = fa.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mb: BTreeMap<&str, &str> = fb.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut any = false;
    for (k, va) in &fa {
        match mb.get(k.as_str()) {
            None => out.push(
                Difference::new("control", Some(k), "field only in A").values(va.clone(), "-"),
            ),
            Some(vb) if *vb != va => {
                out.push(Difference::new("control", Some(k), "field value").values(va.clone(), *vb))
            }
            _ => continue,
        }
        any = true;
    }
    for (k, vb) in &fb {
        if !ma.contains_key(k.as_str()) {
            any = true;
            out.push(
                Difference::new("control", Some(k), "field only in B").values("-", vb.clone()),
            );
        }
    }
    if !any {
        let order = |f: &[(String, String)]| {
            f.iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if order(&fa) != order(&fb) {
            out.push(
                Difference::new("control", None, "field order").values(order(&fa), order(&fb)),
            );
        } else {
            out.push(Difference::new(
                "control",
                None,
                "formatting (same fields and values)",
            ));
        }
    }
}
