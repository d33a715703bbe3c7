//! The checks dpkg-deb makes on a package's control area before it builds,
//! with the same kind of message: `DEBIAN/control` (one paragraph, field
//! syntax, no duplicates, `Package`, `Version` and `Architecture` present, a
//! valid package name and version), the permissions of `DEBIAN/` and of the
//! maintainer scripts, and `DEBIAN/conffiles`.
//!
//! It also knows how dpkg-deb stores the control area's modes
//! (`member_mode`), and holds the one copy of Debian's name, version and
//! architecture rules: Debian policy's stricter checks (used for
//! `venvdeb.toml`, `init` and audit) are dpkg-deb's plus their extra.
//!
//! One check is ours, stricter than dpkg-deb: a maintainer script that is a
//! regular file must start with `#!` (dpkg-deb accepts it; `dpkg -i` then
//! fails to execute it).
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// What the build needs to know from the control file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ControlInfo {
    pub package: String,
    pub version: String,
    pub architecture: String,
    /// Non-fatal findings, worded as dpkg-deb's warnings.
    pub warnings: Vec<String>,
}

const MAINTAINER_SCRIPTS: [&str; 5] = ["preinst", "postinst", "prerm", "postrm", "config"];

/// Run every check on the control area of the tree at `root`.
pub(crate) fn check(root: &Path) -> Result<ControlInfo> {
    let debian = root.join("DEBIAN");
    let control = debian.join("control");
    let text = fs::read(&control).with_context(|| {
        format!(
            "failed to open package info file '{}' for reading",
            control.display()
        )
    })?;
    let mut info = check_control_text(&text)
        .with_context(|| format!("parsing file '{}'", control.display()))?;
    for w in &mut info.warnings {
        *w = format!("{}: {w}", control.display());
    }
    check_file_perms(&debian)?;
    let conffiles = debian.join("conffiles");
    for w in check_conffiles(root, &debian)? {
        info.warnings.push(format!("{}: {w}", conffiles.display()));
    }
    Ok(info)
}

/// Parse and check the text of a binary control file, with dpkg's parser's
/// rules: one paragraph (empty lines around it allowed), `Name: value`
/// fields, continuation lines starting with a space or tab and not blank,
/// no duplicate field, a final newline.
pub(crate) fn check_control_text(text: &[u8]) -> Result<ControlInfo> {
    let text = String::from_utf8_lossy(text);
    if !text.is_empty() && !text.ends_with('\n') {
        bail!("missing final newline");
    }
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut in_paragraph = false;
    let lines: Vec<&str> = text.split_terminator('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let lineno = i + 1;
        if line.is_empty() {
            in_paragraph = false;
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            match fields.last_mut() {
                Some((name, value)) if in_paragraph => {
                    if line.trim().is_empty() {
                        bail!("near line {lineno}: blank line in value of field '{name}'");
                    }
                    value.push('\n');
                    value.push_str(line);
                    continue;
                }
                _ => bail!("near line {lineno}: empty field name"),
            }
        }
        if !in_paragraph && !fields.is_empty() {
            bail!("near line {lineno}: several package info entries found, only one allowed");
        }
        in_paragraph = true;
        let Some((name, value)) = line.split_once(':') else {
            let name = line.split_whitespace().next().unwrap_or(line);
            bail!("near line {lineno}: field name '{name}' must be followed by colon");
        };
        let name = name.trim_end();
        if name.is_empty() {
            bail!("near line {lineno}: empty field name");
        }
        if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            bail!("near line {lineno}: invalid field name '{name}'");
        }
        if fields.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            bail!("near line {lineno}: duplicate value for '{name}' field");
        }
        if value.trim().is_empty() && i + 1 == lines.len() {
            bail!("near line {lineno}: end of file before value of field '{name}'");
        }
        fields.push((name.to_string(), value.trim().to_string()));
    }
    let get = |key: &str| {
        fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let package = get("Package")
        .context("missing 'Package' field")?
        .to_ascii_lowercase();
    check_package_name(&package)?;
    let version = get("Version")
        .context("missing 'Version' field")?
        .to_string();
    check_version(&version).with_context(|| format!("'Version' field value '{version}'"))?;
    let architecture = get("Architecture")
        .context("package architecture is missing or empty")?
        .to_string();
    let mut warnings = Vec::new();
    for key in ["Maintainer", "Description"] {
        if get(key).is_none() {
            warnings.push(format!("missing '{key}' field"));
        }
    }
    Ok(ControlInfo {
        package,
        version,
        architecture,
        warnings,
    })
}

/// The mode dpkg-deb 1.21 stores for an entry of the control member: GNU
/// tar's `--mode=go=rX,u+rw` (gnulib semantics): group and other get `r`,
/// plus `x` when any execute bit is set or it is a directory; the owner gets
/// `rw` added; `g=`/`o=` drop setgid (kept on directories) and sticky;
/// setuid stays. Symlinks (0777) become 0755.
pub(crate) fn member_mode(mode: u32, is_dir: bool) -> u32 {
    let any_x = is_dir || mode & 0o111 != 0;
    let mut m = mode & (0o4000 | 0o700);
    if is_dir {
        m |= mode & 0o2000;
    }
    m |= 0o600 | 0o044;
    if any_x {
        m |= 0o011;
    }
    m
}

/// dpkg's package name rule, plus dpkg-deb's stricter character set.
pub(crate) fn check_package_name(name: &str) -> Result<()> {
    let Some(first) = name.bytes().next() else {
        bail!("invalid package name in 'Package' field: may not be empty string");
    };
    if !first.is_ascii_alphanumeric() {
        bail!("invalid package name in 'Package' field: must start with an alphanumeric character");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b))
    {
        bail!("package name '{name}' has characters that aren't lowercase alphanums or '-+.'");
    }
    Ok(())
}

/// Debian policy 5.6.1 on top of dpkg-deb's rule (`check_package_name`): at
/// least two characters. The one name check of `venvdeb.toml`, `init`,
/// relation fields and audit.
pub(crate) fn check_policy_package_name(name: &str) -> Result<()> {
    if name.len() < 2 || check_package_name(name).is_err() {
        bail!(
            "{name:?} is not a valid Debian package name (lowercase letters, digits, '+', '-', \
             '.', at least 2 characters, starting with a letter or digit)"
        );
    }
    Ok(())
}

/// A Debian architecture name as dpkg takes it: an alphanumeric, then
/// lowercase letters, digits and `-`.
pub(crate) fn is_architecture_name(a: &str) -> bool {
    a.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && a.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Debian policy 5.6.12 on top of dpkg's rule (`check_version`): the epoch's
/// colon is the only one.
pub(crate) fn check_policy_version(v: &str) -> Result<()> {
    check_version(v)?;
    if v.split_once(':')
        .is_some_and(|(_, rest)| rest.contains(':'))
    {
        bail!("only one ':' (the epoch) is allowed");
    }
    Ok(())
}

/// dpkg's version syntax: `[epoch:]upstream[-revision]`.
pub(crate) fn check_version(v: &str) -> Result<()> {
    if v.is_empty() {
        bail!("version string is empty");
    }
    if v.bytes().any(|b| b.is_ascii_whitespace()) {
        bail!("version string has embedded spaces");
    }
    let rest = match v.split_once(':') {
        Some((epoch, rest)) => {
            if epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()) {
                bail!("epoch in version is not number");
            }
            if epoch.parse::<u32>().map_or(true, |e| e > i32::MAX as u32) {
                bail!("epoch in version is too big");
            }
            if rest.is_empty() {
                bail!("nothing after colon in version number");
            }
            rest
        }
        None => v,
    };
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((u, r)) => {
            if r.is_empty() {
                bail!("revision number is empty");
            }
            (u, Some(r))
        }
        None => (rest, None),
    };
    if upstream.is_empty() {
        bail!("version number is empty");
    }
    if !upstream.as_bytes()[0].is_ascii_digit() {
        bail!("version number does not start with digit");
    }
    if !upstream
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b".-+~:".contains(&b))
    {
        bail!("invalid character in version number");
    }
    if let Some(r) = revision {
        if !r
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".+~".contains(&b))
        {
            bail!("invalid character in revision number");
        }
    }
    Ok(())
}

fn check_file_perms(debian: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(debian)
        .with_context(|| format!("unable to stat control directory {}", debian.display()))?;
    if !meta.is_dir() {
        bail!("control directory {} is not a directory", debian.display());
    }
    if meta.mode() & 0o7757 != 0o755 {
        bail!(
            "control directory {} has bad permissions {:03o} (must be >=0755 and <=0775)",
            debian.display(),
            meta.mode() & 0o7777
        );
    }
    for script in MAINTAINER_SCRIPTS {
        let path = debian.join(script);
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("maintainer script '{}' is not stattable", path.display())
                })
            }
        };
        if meta.file_type().is_symlink() {
            continue;
        }
        if !meta.is_file() {
            bail!(
                "maintainer script '{}' is not a plain file or symlink",
                path.display()
            );
        }
        if meta.mode() & 0o7557 != 0o555 {
            bail!(
                "maintainer script '{}' has bad permissions {:03o} (must be >=0555 and <=0775)",
                path.display(),
                meta.mode() & 0o7777
            );
        }
        let mut start = [0u8; 2];
        let mut f = fs::File::open(&path)
            .with_context(|| format!("cannot open maintainer script '{}'", path.display()))?;
        let n = f
            .read(&mut start)
            .with_context(|| format!("cannot read maintainer script '{}'", path.display()))?;
        if n < 2 || start != *b"#!" {
            bail!(
                "maintainer script '{}' does not start with a '#!' interpreter line",
                path.display()
            );
        }
    }
    Ok(())
}

/// dpkg-deb's conffiles rules; returns its warnings (duplicates, entries
/// that are not plain files).
fn check_conffiles(root: &Path, debian: &Path) -> Result<Vec<String>> {
    let path = debian.join("conffiles");
    let mut warnings = Vec::new();
    let text = match fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(warnings),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("error opening conffiles file {}", path.display()))
        }
    };
    if text.is_empty() {
        return Ok(warnings);
    }
    let f = path.display();
    if !text.ends_with(b"\n") {
        let last = text.rsplit(|&b| b == b'\n').next().unwrap_or_default();
        bail!(
            "{f}: conffile name '{}' is too long, or missing final newline",
            String::from_utf8_lossy(last)
        );
    }
    let mut seen: Vec<&[u8]> = Vec::new();
    for line in text[..text.len() - 1].split(|&b| b == b'\n') {
        let shown = String::from_utf8_lossy(line);
        // `/path`, or `flag /path` (dpkg 1.21 knows `remove-on-upgrade`).
        let (flag, name) = if line.starts_with(b"/") {
            (None, line)
        } else {
            match line.iter().position(|&b| b == b' ') {
                Some(i) => (Some(&line[..i]), &line[i + 1..]),
                None => bail!("{f}: conffile name '{shown}' is not an absolute pathname"),
            }
        };
        let name_shown = String::from_utf8_lossy(name);
        if !name.starts_with(b"/") {
            bail!("{f}: conffile name '{name_shown}' is not an absolute pathname");
        }
        let remove = match flag {
            None => false,
            Some(b"remove-on-upgrade") => true,
            Some(other) => bail!(
                "{f}: unknown flag '{}' for conffile '{name_shown}'",
                String::from_utf8_lossy(other)
            ),
        };
        let on_disk = root.join(std::ffi::OsStr::from_bytes(&name[1..]));
        match fs::symlink_metadata(&on_disk) {
            Ok(_) if remove => {
                bail!("{f}: conffile '{name_shown}' is present but is requested to be removed")
            }
            Ok(meta) if !meta.is_file() => {
                warnings.push(format!("conffile '{name_shown}' is not a plain file"))
            }
            Ok(_) => {}
            Err(_) if remove => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                bail!("{f}: conffile '{name_shown}' does not appear in package")
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("{f}: conffile '{name_shown}' is not stattable"))
            }
        }
        if seen.contains(&name) {
            warnings.push(format!("conffile name '{name_shown}' is duplicated"));
        } else {
            seen.push(name);
        }
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "Package: foo\nVersion: 1:2.0~rc1-3+b1\nArchitecture: all\nMaintainer: A <a@b.c>\nDescription: x\n long\n";

    fn err(text: &str) -> String {
        format!("{:#}", check_control_text(text.as_bytes()).unwrap_err())
    }

    #[test]
    fn accepts_good_control() {
        let i = check_control_text(GOOD.as_bytes()).unwrap();
        assert_eq!(i.package, "foo");
        assert_eq!(i.version, "1:2.0~rc1-3+b1");
        assert!(i.warnings.is_empty());
    }

    #[test]
    fn field_errors() {
        assert!(err(&GOOD.replace("Package: foo\n", "")).contains("missing 'Package' field"));
        assert!(
            err(&GOOD.replace("Version: 1:2.0~rc1-3+b1\n", "")).contains("missing 'Version' field")
        );
        assert!(err(&GOOD.replace("Architecture: all\n", "")).contains("architecture is missing"));
        assert!(err(&format!("{GOOD}Foo bar\n")).contains("must be followed by colon"));
        assert!(err(&format!("{GOOD}package: x\n")).contains("duplicate value"));
        assert!(err(&format!("{GOOD}\nPackage: bar\n")).contains("several package info entries"));
        assert!(err(&format!("# comment\n{GOOD}")).contains("'#' must be followed by colon"));
        assert!(err(&format!("{GOOD}\t\n more\n"))
            .contains("blank line in value of field 'Description'"));
        assert!(err(&format!("  \n{GOOD}")).contains("empty field name"));
        assert!(err(&format!("{GOOD}\n  \n")).contains("empty field name"));
        assert!(err(&format!(": x\n{GOOD}")).contains("empty field name"));
        assert!(err(GOOD.trim_end()).contains("missing final newline"));
        assert!(err(&format!("{GOOD}Depends:\n")).contains("end of file before value"));
        // Accepted by dpkg-deb too: blank lines around, space before the
        // colon, an empty value inside, uppercase name (lowercased).
        let ok = format!("\n\n{}Depends:\nTag : x\n\n\n", GOOD.replace("foo", "Foo"));
        assert_eq!(check_control_text(ok.as_bytes()).unwrap().package, "foo");
        assert!(err(&GOOD.replace("foo", "fo_o")).contains("aren't lowercase alphanums"));
        assert!(err(&GOOD.replace("foo", "-foo")).contains("must start with an alphanumeric"));
    }

    #[test]
    fn control_member_modes_as_dpkg_deb_stores_them() {
        // Measured with dpkg-deb 1.21.22 on files and dirs in DEBIAN/.
        for (mode, dir, want) in [
            (0o644, false, 0o644),
            (0o600, false, 0o644),
            (0o000, false, 0o644),
            (0o400, false, 0o644),
            (0o666, false, 0o644),
            (0o775, false, 0o755),
            (0o1755, false, 0o755),
            (0o2755, false, 0o755),
            (0o6755, false, 0o4755),
            (0o4775, false, 0o4755),
            (0o777, false, 0o755),
            (0o700, true, 0o755),
            (0o1777, true, 0o755),
            (0o2775, true, 0o2755),
            (0o6755, true, 0o6755),
        ] {
            assert_eq!(member_mode(mode, dir), want, "{mode:o} dir={dir}");
        }
    }

    #[test]
    fn policy_names_and_versions() {
        assert!(check_policy_package_name("demo-app").is_ok());
        for bad in ["a", "-ab", "Ab", "a_b", "a b", "ä", ""] {
            assert!(check_policy_package_name(bad).is_err(), "{bad}");
        }
        // dpkg-deb takes a one-letter name; policy does not.
        check_package_name("a").unwrap();
        for good in ["amd64", "all", "arm64", "x32"] {
            assert!(is_architecture_name(good), "{good}");
        }
        for bad in ["", "-amd64", "AMD64", "am_d64"] {
            assert!(!is_architecture_name(bad), "{bad}");
        }
        // dpkg-deb takes a second colon in the upstream version; policy does not.
        check_version("1:2:3").unwrap();
        let e = format!("{:#}", check_policy_version("1:2:3").unwrap_err());
        assert!(e.contains("only one ':'"), "{e}");
        check_policy_version("1:2.0~rc1-1+deb12u1").unwrap();
    }

    #[test]
    fn version_syntax() {
        for (v, msg) in [
            ("1.0 x", "embedded spaces"),
            ("a1", "does not start with digit"),
            ("1:", "nothing after colon"),
            ("1.0-", "revision number is empty"),
            ("1_0", "invalid character in version"),
            ("-1", "version number is empty"),
            ("x:1", "epoch in version is not number"),
            ("1-a_b", "invalid character in revision"),
        ] {
            let e = format!("{:#}", check_version(v).unwrap_err());
            assert!(e.contains(msg), "{v}: {e}");
        }
        for v in ["0", "1.0", "2:1.0-1", "1.0-1-2", "1.0+dfsg~1"] {
            check_version(v).unwrap();
        }
    }
}
