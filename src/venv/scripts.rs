//! Launcher scripts: the `console_scripts` / `gui_scripts` wrappers, byte for
//! byte what pip (distlib's ScriptMaker) writes on Linux, and the `#!python`
//! first-line rewrite for scripts shipped in a wheel's `.data/scripts`.
//! Launcher names are checked here: a name that would leave `bin/` or shadow
//! the venv's `python*` is an error.
use anyhow::{bail, Result};

/// One entry point of `console_scripts` or `gui_scripts`: `name = module:attr [extras]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPoint {
    pub name: String,
    pub module: String,
    pub attr: String,
}

impl EntryPoint {
    /// Parse an entry point's name and value as written in entry_points.txt.
    pub fn parse(name: &str, value: &str) -> Result<EntryPoint> {
        let name = name.trim();
        crate::config::check_launcher_name(name)
            .map_err(|e| anyhow::anyhow!("launcher {name:?}: {e}"))?;
        // Extras in brackets are allowed by the spec and ignored by pip.
        let value = match value.split_once('[') {
            Some((v, rest)) => {
                if !rest.trim_end().ends_with(']') {
                    bail!("entry point {name} = {value}: unbalanced '['");
                }
                v
            }
            None => value,
        }
        .trim();
        let Some((module, attr)) = value.split_once(':') else {
            bail!("entry point {name} = {value}: a callable suffix (module:function) is required");
        };
        let (module, attr) = (module.trim(), attr.trim());
        let dotted = |s: &str| {
            !s.is_empty()
                && s.split('.').all(|p| {
                    !p.is_empty()
                        && !p.starts_with(|c: char| c.is_ascii_digit())
                        && p.chars().all(|c| c == '_' || c.is_alphanumeric())
                })
        };
        if !dotted(module) || !dotted(attr) {
            bail!("entry point {name} = {value}: not a valid module:function reference");
        }
        Ok(EntryPoint {
            name: name.to_string(),
            module: module.to_string(),
            attr: attr.to_string(),
        })
    }

    /// The launcher's bytes for a venv whose interpreter is `python`
    /// (`<prefix>/bin/python`), as pip writes them.
    pub fn launcher(&self, python: &str) -> Vec<u8> {
        let import_name = self.attr.split('.').next().unwrap_or(&self.attr);
        let mut out = shebang(python);
        out.extend_from_slice(
            format!(
                "# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom {} import {}\n\
                 if __name__ == '__main__':\n    \
                 sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n    \
                 sys.exit({}())\n",
                self.module, import_name, self.attr
            )
            .as_bytes(),
        );
        out
    }
}

/// distlib's shebang on Linux: `#!<python>\n`, or the `/bin/sh` trampoline
/// when the line would exceed 127 bytes or the path holds a space.
pub fn shebang(python: &str) -> Vec<u8> {
    let exe = if python.contains(' ') && !python.starts_with('"') {
        format!("\"{python}\"")
    } else {
        python.to_string()
    };
    if !exe.contains(' ') && exe.len() + 3 <= 127 {
        format!("#!{exe}\n").into_bytes()
    } else {
        format!("#!/bin/sh\n'''exec' {exe} \"$0\" \"$@\"\n' '''").into_bytes()
    }
}

/// For a `.data/scripts` file: if `first_line` (with its newline) starts
/// with `#!python`, the line that replaces it (pip's `fix_script`).
pub fn rewrite_first_line(first_line: &[u8], python: &str) -> Option<Vec<u8>> {
    if first_line.starts_with(b"#!python") {
        Some(format!("#!{python}\n").into_bytes())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launcher_is_pips() {
        let e = EntryPoint::parse("tabulate", " tabulate:_main").unwrap();
        let got = String::from_utf8(e.launcher("/opt/venvs/demoapp/bin/python")).unwrap();
        let want =
            "#!/opt/venvs/demoapp/bin/python\n# -*- coding: utf-8 -*-\nimport re\nimport sys\n\
from tabulate import _main\nif __name__ == '__main__':\n    \
sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n    sys.exit(_main())\n";
        assert_eq!(got, want);
        let e = EntryPoint::parse("x", "pkg.mod:Cls.method [extra1, extra2]").unwrap();
        let got = String::from_utf8(e.launcher("/p/bin/python")).unwrap();
        assert!(got.contains("from pkg.mod import Cls\n"));
        assert!(got.contains("sys.exit(Cls.method())"));
    }

    #[test]
    fn long_or_spaced_interpreter_uses_sh() {
        let long = format!("/opt/{}/bin/python", "x".repeat(130));
        let s = String::from_utf8(shebang(&long)).unwrap();
        assert!(s.starts_with("#!/bin/sh\n'''exec' /opt/"), "{s}");
        let s = String::from_utf8(shebang("/opt/my venv/bin/python")).unwrap();
        assert!(
            s.contains("'''exec' \"/opt/my venv/bin/python\" \"$0\" \"$@\"\n' '''"),
            "{s}"
        );
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
            assert!(EntryPoint::parse(n, v).is_err(), "{n} = {v}");
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
