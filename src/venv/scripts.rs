//! Launcher scripts: the `console_scripts` / `gui_scripts` wrappers, byte for
//! byte what the target release's pip (distlib's ScriptMaker) writes on
//! Linux, pip's own `pip`/`pipX`/`pipX.Y` special case, and the `#!python`
//! first-line rewrite for scripts shipped in a wheel's `.data/scripts`.
//! Launcher names are checked here: a name that would leave `bin/` or shadow
//! the venv's `python*` is an error.
//!
//! The launcher template is not assumed: [`Launchers::of`] takes it from the
//! release's pip as the target interpreter reports it (its vendored
//! distlib's `SCRIPT_TEMPLATE`), and only a template venvdeb knows
//! (bookworm's pip 23.0.1 and trixie's pip 25.1.1 use the same one) is used;
//! any other pip, or none, makes launcher generation fail with a clear
//! message instead of a guess.
use std::io::{BufRead, BufReader, Read, Write};

use anyhow::{anyhow, bail, Result};

use super::interpreter::Interpreter;

/// The launcher template of pip 20–25 (distlib 0.3.x's `SCRIPT_TEMPLATE`),
/// with distlib's `%(module)s`, `%(import_name)s` and `%(func)s` fields.
/// Checked in the chroot tests against bookworm's pip 23.0.1 and trixie's
/// pip 25.1.1.
pub(crate) const DISTLIB_RE_TEMPLATE: &str = "# -*- coding: utf-8 -*-\nimport re\nimport sys\n\
from %(module)s import %(import_name)s\nif __name__ == '__main__':\n    \
sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n    \
sys.exit(%(func)s())\n";

/// The templates venvdeb knows, as pip spells them.
const KNOWN_TEMPLATES: &[&str] = &[DISTLIB_RE_TEMPLATE];

/// How the target release's pip writes launchers.
#[derive(Debug, Clone)]
pub(crate) struct Launchers {
    /// The release pip's template, or why there is none venvdeb can use.
    template: std::result::Result<String, String>,
    /// `X` of the target Python, for pip's `pipX` launcher.
    major: String,
    /// `X.Y` of the target Python, for pip's `pipX.Y` launcher.
    short: String,
}

impl Launchers {
    /// Decide from what the target interpreter says about its release's pip.
    pub(crate) fn of(it: &Interpreter) -> Launchers {
        let template = match &it.pip {
            None => Err(format!(
                "no pip found for the target interpreter {} (its site-packages outside \
                 /usr/local): venvdeb writes console-script launchers byte for byte as the \
                 release's own pip does and will not guess its template; install python3-pip \
                 (in a Debian build: add python3-pip to Build-Depends)",
                it.path.display()
            )),
            Some(pip) => match &pip.distlib_template {
                Some(t)
                    if KNOWN_TEMPLATES.contains(&t.as_str())
                        && !pip.template_overridden
                        && pip.versioned_pip_rule =>
                {
                    Ok(t.clone())
                }
                _ => Err(format!(
                    "pip {} of the target interpreter {} ({}) writes console-script launchers \
                     in a way venvdeb does not know (it knows distlib's `import re` template \
                     of pip 20-25, as in bookworm's pip 23.0.1 and trixie's pip 25.1.1); \
                     refusing to guess",
                    pip.version,
                    it.path.display(),
                    pip.location
                )),
            },
        };
        Launchers {
            template,
            major: it.version.0.to_string(),
            short: it.short_version(),
        }
    }

    /// The launcher's bytes for a venv whose interpreter is `python`
    /// (`<prefix>/bin/python`), as the release's pip writes them.
    pub(crate) fn launcher(&self, ep: &EntryPoint, python: &str) -> Result<Vec<u8>> {
        let attr = callable(ep)?;
        let template = self
            .template
            .as_ref()
            .map_err(|e| anyhow!("launcher {}: {e}", ep.name))?;
        let import_name = attr.split('.').next().unwrap_or(attr);
        let text = template
            .replace("%(module)s", &ep.module)
            .replace("%(import_name)s", import_name)
            .replace("%(func)s", attr);
        let mut out = shebang(python);
        out.extend_from_slice(text.as_bytes());
        Ok(out)
    }

    /// The console scripts pip generates from a wheel's `console_scripts`
    /// (name, value), in pip's order: a `pip` entry becomes `pip`, `pipX`
    /// and `pipX.Y` for the target Python and every other `pipN[.M]` entry
    /// is dropped; an `easy_install` entry becomes `easy_install` and
    /// `easy_install-X.Y` and every other `easy_install[-N.M]` is dropped
    /// (pip's `get_console_script_specs`, without `ENSUREPIP_OPTIONS`).
    pub(crate) fn console_scripts(&self, console: &[EntryPoint]) -> Vec<EntryPoint> {
        let take = |name: &str| console.iter().rev().find(|e| e.name == name);
        let named = |e: &EntryPoint, name: String| EntryPoint { name, ..e.clone() };
        let mut out = Vec::new();
        let pip = take("pip");
        if let Some(e) = pip {
            for n in [
                "pip".to_string(),
                format!("pip{}", self.major),
                format!("pip{}", self.short),
            ] {
                out.push(named(e, n));
            }
        }
        let easy = take("easy_install");
        if let Some(e) = easy {
            for n in [
                "easy_install".to_string(),
                format!("easy_install-{}", self.short),
            ] {
                out.push(named(e, n));
            }
        }
        for e in console {
            if (pip.is_some() && is_versioned(&e.name, "pip", ""))
                || (easy.is_some() && is_versioned(&e.name, "easy_install", "-"))
            {
                continue;
            }
            out.push(e.clone());
        }
        out
    }
}

/// `base`, or `base` + `sep` + `N` or `N.M` (digits): pip's
/// `pip(\d+(\.\d+)?)?$` and `easy_install(-\d+\.\d+)?$` (the latter needs
/// both parts).
fn is_versioned(name: &str, base: &str, sep: &str) -> bool {
    let Some(rest) = name.strip_prefix(base) else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let Some(v) = rest.strip_prefix(sep) else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match v.split_once('.') {
        Some((a, b)) => digits(a) && digits(b),
        None => sep.is_empty() && digits(v),
    }
}

pub(crate) use crate::wheel::metadata::EntryPoint;

/// What a launcher needs beyond what `entry_points.txt` allows (parsed once,
/// by `wheel::metadata::parse_entry_points`): a name that stays in `bin/`
/// and does not shadow the venv's `python*`, and a callable
/// (`module:function`). Returns the callable.
pub(crate) fn callable(ep: &EntryPoint) -> Result<&str> {
    crate::config::check_launcher_name(&ep.name)
        .map_err(|e| anyhow!("launcher {:?}: {e}", ep.name))?;
    ep.attr.as_deref().ok_or_else(|| {
        anyhow!(
            "entry point {} = {}: a callable suffix (module:function) is required",
            ep.name,
            ep.module
        )
    })
}

/// distlib's shebang on Linux: `#!<python>\n`, or the `/bin/sh` trampoline
/// when the line would exceed 127 bytes or the path holds a space. The
/// trampoline is a shell command line, so the path in it is quoted whenever
/// it holds a character the shell would act on: distlib's bytes for plain
/// paths (and its double quotes for a path whose only special character is
/// a space), single quotes otherwise — distlib itself leaves `$(…)` or a
/// backquote to the shell. [`check_python_path`] refuses the paths neither
/// quoting can carry.
pub(crate) fn shebang(python: &str) -> Vec<u8> {
    if !python.contains(' ') && python.len() + 3 <= 127 {
        // The kernel reads this line; no shell sees the path.
        return format!("#!{python}\n").into_bytes();
    }
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._+-,:=@%~".contains(c);
    let exe = if python.chars().all(plain) {
        python.to_string()
    } else if python.chars().all(|c| plain(c) || c == ' ') {
        format!("\"{python}\"")
    } else {
        format!("'{python}'")
    };
    format!("#!/bin/sh\n'''exec' {exe} \"$0\" \"$@\"\n' '''").into_bytes()
}

/// Refuse an interpreter path a launcher cannot name safely: a single
/// quote, a backslash or a control character (the trampoline's quoting and
/// the Python string around it cannot carry them).
pub(crate) fn check_python_path(python: &str) -> Result<()> {
    if let Some(c) = python
        .chars()
        .find(|c| *c == '\'' || *c == '\\' || c.is_control())
    {
        bail!(
            "the venv's interpreter path {python:?} holds {c:?}, which no launcher can name safely"
        );
    }
    Ok(())
}

/// For a `.data/scripts` file: if `first_line` (with its newline) starts
/// with `#!python`, the line that replaces it (pip's `fix_script`).
pub(crate) fn rewrite_first_line(first_line: &[u8], python: &str) -> Option<Vec<u8>> {
    if first_line.starts_with(b"#!python") {
        Some(format!("#!{python}\n").into_bytes())
    } else {
        None
    }
}

/// Copy an entry's bytes as they are installed: a `.data/scripts` file
/// (`script`) with its `#!python` first line rewritten, anything else as is.
pub(crate) fn copy_installed(
    r: &mut dyn Read,
    mut w: &mut dyn Write,
    script: bool,
    python: &str,
) -> std::io::Result<()> {
    if script {
        copy_script(&mut BufReader::with_capacity(1 << 16, r), &mut w, python)
    } else {
        std::io::copy(r, &mut w).map(|_| ())
    }
}

/// Copy a `.data/scripts` file, rewriting a `#!python` first line as pip's
/// `fix_script` does (the whole first line replaced), in bounded memory:
/// the decision needs the first `#!python`.len() bytes only; the rest of
/// a replaced first line is skipped as it streams by, however long.
pub(crate) fn copy_script(
    r: &mut impl BufRead,
    w: &mut impl Write,
    python: &str,
) -> std::io::Result<()> {
    const MAGIC: &[u8] = b"#!python";
    // The first bytes, up to MAGIC's length or the first newline.
    let mut head = Vec::with_capacity(MAGIC.len());
    while head.len() < MAGIC.len() && head.last() != Some(&b'\n') {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let want = MAGIC.len() - head.len();
        let take = match buf[..want.min(buf.len())].iter().position(|&b| b == b'\n') {
            Some(i) => i + 1,
            None => want.min(buf.len()),
        };
        head.extend_from_slice(&buf[..take]);
        r.consume(take);
    }
    match rewrite_first_line(&head, python) {
        Some(line) => {
            w.write_all(&line)?;
            // Skip what is left of the first line, newline included.
            loop {
                let buf = r.fill_buf()?;
                if buf.is_empty() {
                    break;
                }
                match buf.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        r.consume(i + 1);
                        break;
                    }
                    None => {
                        let n = buf.len();
                        r.consume(n);
                    }
                }
            }
        }
        None => w.write_all(&head)?,
    }
    std::io::copy(r, w)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// `name = value` as entry_points.txt has it, parsed as the installer
    /// parses it, with the launcher's own checks.
    fn ep(name: &str, value: &str) -> Result<EntryPoint> {
        let text = format!("[console_scripts]\n{name} = {value}\n");
        let groups = crate::wheel::metadata::parse_entry_points(text.as_bytes())?;
        let e = groups["console_scripts"][0].clone();
        callable(&e)?;
        Ok(e)
    }

    #[test]
    fn script_first_line_streams() {
        let run = |input: &[u8]| {
            let mut out = Vec::new();
            copy_script(
                &mut BufReader::with_capacity(3, input),
                &mut out,
                "/p/bin/python",
            )
            .unwrap();
            out
        };
        assert_eq!(run(b"#!python\nx\n"), b"#!/p/bin/python\nx\n");
        assert_eq!(run(b"#!pythonw -u\nx\ny"), b"#!/p/bin/python\nx\ny");
        assert_eq!(run(b"#!python"), b"#!/p/bin/python\n");
        assert_eq!(run(b"#!/bin/sh\necho\n"), b"#!/bin/sh\necho\n");
        assert_eq!(run(b"#!py\n#!python\n"), b"#!py\n#!python\n");
        assert_eq!(run(b""), b"");
        assert_eq!(run(b"\n#!python"), b"\n#!python");
        // A first line of 64 MiB without a newline: rewritten in bounded
        // memory (the reader is never asked for more than its buffer).
        struct Long(u64);
        impl Read for Long {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0 == 0 {
                    return Ok(0);
                }
                let n = buf.len().min(self.0 as usize);
                buf[..n].fill(b'x');
                if self.0 == 64 << 20 {
                    buf[..8].copy_from_slice(b"#!python");
                }
                self.0 -= n as u64;
                Ok(n)
            }
        }
        let mut out = Vec::new();
        copy_script(
            &mut BufReader::with_capacity(1 << 16, Long(64 << 20)),
            &mut out,
            "/p/bin/python",
        )
        .unwrap();
        assert_eq!(out, b"#!/p/bin/python\n");
    }

    fn known() -> Launchers {
        Launchers {
            template: Ok(DISTLIB_RE_TEMPLATE.to_string()),
            major: "3".into(),
            short: "3.11".into(),
        }
    }

    #[test]
    fn launcher_is_pips() {
        let e = ep("tabulate", " tabulate:_main").unwrap();
        let got = known()
            .launcher(&e, "/opt/venvs/demoapp/bin/python")
            .unwrap();
        let want =
            "#!/opt/venvs/demoapp/bin/python\n# -*- coding: utf-8 -*-\nimport re\nimport sys\n\
from tabulate import _main\nif __name__ == '__main__':\n    \
sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n    sys.exit(_main())\n";
        assert_eq!(String::from_utf8(got).unwrap(), want);
        let e = ep("x", "pkg.mod:Cls.method [extra1, extra2]").unwrap();
        let got = String::from_utf8(known().launcher(&e, "/p/bin/python").unwrap()).unwrap();
        assert!(got.contains("from pkg.mod import Cls\n"));
        assert!(got.contains("sys.exit(Cls.method())"));
    }

    #[test]
    fn template_comes_from_the_release_pip() {
        let mut it = Interpreter::query(Path::new("/usr/bin/python3"), "/opt/venvs/demo").unwrap();
        // This host's python3-pip (scripts/deps.sh) is one venvdeb knows.
        let l = Launchers::of(&it);
        assert_eq!(
            l.template.as_deref(),
            Ok(DISTLIB_RE_TEMPLATE),
            "{:?}",
            it.pip
        );
        assert_eq!(l.short, it.short_version());
        let e = ep("demo", "demo.cli:main").unwrap();
        // Another template (e.g. pip 26's): refused, not guessed.
        let pip = it.pip.as_mut().unwrap();
        pip.version = "26.0".into();
        pip.distlib_template = Some("import sys\nfrom %(module)s import %(func)s\n".into());
        let msg = Launchers::of(&it)
            .launcher(&e, "/p/bin/python")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("pip 26.0") && msg.contains("refusing to guess"),
            "{msg}"
        );
        // The known template overridden by pip's installer: refused too.
        let pip = it.pip.as_mut().unwrap();
        pip.distlib_template = Some(DISTLIB_RE_TEMPLATE.into());
        pip.template_overridden = true;
        assert!(Launchers::of(&it).launcher(&e, "/p/bin/python").is_err());
        // No pip at all.
        it.pip = None;
        let msg = Launchers::of(&it)
            .launcher(&e, "/p/bin/python")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("no pip found") && msg.contains("python3-pip"),
            "{msg}"
        );
    }

    #[test]
    fn pips_own_launchers() {
        let v = |s: &str| s.to_string();
        let names = |console: &[(String, String)]| -> Vec<String> {
            let eps: Vec<EntryPoint> = console.iter().map(|(n, v)| ep(n, v).unwrap()).collect();
            known()
                .console_scripts(&eps)
                .into_iter()
                .map(|e| e.name)
                .collect()
        };
        let console = vec![
            (v("pip"), v("pip._internal.cli.main:main")),
            (v("pip3"), v("pip._internal.cli.main:main")),
            (v("pip3.9"), v("pip._internal.cli.main:main")),
            (v("pip3.12"), v("pip._internal.cli.main:main")),
            (v("pipx"), v("other:main")),
            (
                v("easy_install-3.8"),
                v("setuptools.command.easy_install:main"),
            ),
        ];
        // easy_install-3.8 stays: there is no plain easy_install entry.
        assert_eq!(
            names(&console),
            ["pip", "pip3", "pip3.11", "pipx", "easy_install-3.8"]
        );
        let console = vec![
            (v("easy_install"), v("setuptools.command.easy_install:main")),
            (
                v("easy_install-3.8"),
                v("setuptools.command.easy_install:main"),
            ),
            (v("pip3"), v("not.pip:main")),
        ];
        assert_eq!(
            names(&console),
            ["easy_install", "easy_install-3.11", "pip3"]
        );
        assert!(is_versioned("pip3.11", "pip", ""));
        assert!(!is_versioned("pip3.", "pip", ""));
        assert!(!is_versioned("pip-3", "pip", ""));
        assert!(!is_versioned("easy_install-3", "easy_install", "-"));
    }

    #[test]
    fn long_or_spaced_interpreter_uses_sh() {
        let long = format!("/opt/{}/bin/python", "x".repeat(130));
        let s = String::from_utf8(shebang(&long)).unwrap();
        assert_eq!(
            s,
            format!("#!/bin/sh\n'''exec' {long} \"$0\" \"$@\"\n' '''")
        );
        let s = String::from_utf8(shebang("/opt/my venv/bin/python")).unwrap();
        assert!(
            s.contains("'''exec' \"/opt/my venv/bin/python\" \"$0\" \"$@\"\n' '''"),
            "{s}"
        );
        // Short: the kernel reads the line, as pip writes it.
        assert_eq!(shebang("/opt/$(x)/bin/python"), b"#!/opt/$(x)/bin/python\n");
    }

    /// A long prefix holding `$(…)`: the trampoline must run the interpreter
    /// at that path, not the command in it.
    #[test]
    fn trampoline_quotes_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let evil = tmp
            .path()
            .join("x".repeat(120))
            .join("$(touch pwned) `touch pwned2` $HOME")
            .join("bin");
        std::fs::create_dir_all(&evil).unwrap();
        let python = evil.join("python");
        std::os::unix::fs::symlink("/bin/echo", &python).unwrap();
        let python = python.to_str().unwrap();
        check_python_path(python).unwrap();
        let e = ep("demo", "demo.cli:main").unwrap();
        let bytes = known().launcher(&e, python).unwrap();
        assert!(bytes.starts_with(b"#!/bin/sh\n'''exec' '"));
        let launcher = tmp.path().join("demo");
        std::fs::write(&launcher, &bytes).unwrap();
        let out = std::process::Command::new("/bin/sh")
            .arg(&launcher)
            .arg("arg1")
            .current_dir(tmp.path())
            .env_clear()
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        // echo got the launcher path and the argument: the interpreter ran.
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            format!("{} arg1\n", launcher.display())
        );
        assert!(!tmp.path().join("pwned").exists());
        assert!(!tmp.path().join("pwned2").exists());
        // Still a valid Python module around the shell line.
        let st = std::process::Command::new("/usr/bin/python3")
            .args([
                "-I",
                "-c",
                "import ast,sys; ast.parse(open(sys.argv[1]).read())",
            ])
            .arg(&launcher)
            .status()
            .unwrap();
        assert!(st.success());
        for bad in [
            "/opt/it's/bin/python",
            "/opt/a\\b/bin/python",
            "/opt/a\nb/python",
        ] {
            assert!(check_python_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bad_entry_points() {
        for (n, v) in [
            ("python3", "a:b"),
            ("../evil", "a:b"),
            ("sub/dir", "a:b"),
            ("ok", "module_only"),
            ("ok", "a:b:c"),
            ("ok", "a b:c"),
            ("ok", "a:b [x"),
            ("", "a:b"),
        ] {
            assert!(ep(n, v).is_err(), "{n} = {v}");
        }
    }

    #[test]
    fn python_first_line() {
        let p = "/opt/venvs/d/bin/python";
        assert_eq!(
            rewrite_first_line(b"#!python\n", p).unwrap(),
            b"#!/opt/venvs/d/bin/python\n"
        );
        assert_eq!(
            rewrite_first_line(b"#!pythonw -u\r\n", p).unwrap(),
            b"#!/opt/venvs/d/bin/python\n"
        );
        assert!(rewrite_first_line(b"#!/bin/sh\n", p).is_none());
    }
}
