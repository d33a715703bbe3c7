//! The bytecode policy. Debian Python policy: ship no `.pyc`; compile in
//! postinst, remove in prerm. `.pyc` bytes are not reproducible across
//! CPython builds, compile order or process layout (REFERENCE.md), so the
//! package never carries them. `bytecode = "postinst"` (default): the
//! postinst runs `py3compile` on the prefix for the target's Python version;
//! `bytecode = "none"`: nothing is compiled ahead of time. In both cases the
//! prerm removes every `__pycache__` under the prefix (what postinst compiled
//! and what Python wrote at run time), so that purge leaves nothing behind.
//! (A wheel that itself ships `.pyc` files keeps them: they are its bytes.)
use crate::config::{Bytecode, Config};
use crate::venv::interpreter::Interpreter;

/// The maintainer-script snippets, as static debhelper autoscripts with
/// `#PACKAGE#`, `#PYVERSION#` and `#PREFIX#` tokens: dh_venvdeb hands the
/// same files to debhelper's `autoscript`, `venvdeb build` fills them here.
const POSTINST: &str =
    include_str!("../../debian-templates/debhelper/autoscripts/postinst-venvdeb");
const PRERM: &str = include_str!("../../debian-templates/debhelper/autoscripts/prerm-venvdeb");

/// Shell-quote a path for a maintainer script (prefixes are validated to be
/// plain, but quote anyway).
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Replace the autoscript tokens, in one pass as debhelper does.
fn fill(template: &str, cfg: &Config, pyversion: &str) -> String {
    let prefix = sh_quote(&cfg.venv.prefix);
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find('#') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let token = after.find('#').map(|end| &after[..end]);
        let value = match token {
            Some("PACKAGE") => Some(cfg.package.name.as_str()),
            Some("PYVERSION") => Some(pyversion),
            Some("PREFIX") => Some(prefix.as_str()),
            _ => None,
        };
        match (token, value) {
            (Some(t), Some(v)) => {
                out.push_str(v);
                rest = &after[t.len() + 1..];
            }
            _ => {
                out.push('#');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The postinst snippet (no `#!`/`set -e`): compile the venv's bytecode.
pub(crate) fn postinst_snippet(cfg: &Config, it: &Interpreter) -> Option<String> {
    if cfg.venv.bytecode != Bytecode::Postinst {
        return None;
    }
    Some(fill(POSTINST, cfg, &it.short_version()))
}

/// The prerm snippet: remove every `__pycache__` under the prefix (compiled
/// in postinst or written at run time), so that nothing is left behind.
pub(crate) fn prerm_snippet(cfg: &Config) -> String {
    fill(PRERM, cfg, "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn cfg(bytecode: &str) -> Config {
        let text = format!(
            "[package]\nname = \"app\"\nversion = \"1\"\nmaintainer = \"A <a@b.c>\"\n\
             description = \"d\"\n[inputs]\nwheelhouse = \"w\"\nlock = \"l\"\nsums = \"s\"\n\
             signature = \"g\"\nkeyring = \"k\"\n[venv]\nbytecode = \"{bytecode}\"\n"
        );
        Config::parse(&text, Path::new("/x/venvdeb.toml"), Path::new("/x")).unwrap()
    }

    #[test]
    fn policies() {
        let it = Interpreter::query(Path::new("/usr/bin/python3"), "/opt/venvs/app").unwrap();
        let p = postinst_snippet(&cfg("postinst"), &it).unwrap();
        assert!(p.contains(&format!(
            "py3compile -p app -V {} '/opt/venvs/app'",
            it.short_version()
        )));
        assert!(p.contains("\"$1\" = configure"));
        assert!(postinst_snippet(&cfg("none"), &it).is_none());
        // Removal happens whatever the policy: Python writes caches at run time.
        for b in ["postinst", "none"] {
            let r = prerm_snippet(&cfg(b));
            assert!(r.contains("py3clean -p app"));
            assert!(r.contains(
                "find '/opt/venvs/app' -depth -type d -name __pycache__ -exec rm -rf {} +"
            ));
        }
    }

    #[test]
    fn autoscripts_filled_exactly() {
        let c = cfg("postinst");
        assert_eq!(
            prerm_snippet(&c),
            "# Added by venvdeb: remove the virtualenv's bytecode.\n\
             if command -v py3clean >/dev/null 2>&1; then\n\
             \tpy3clean -p app || true\n\
             fi\n\
             if [ -d '/opt/venvs/app' ]; then\n\
             \tfind '/opt/venvs/app' -depth -type d -name __pycache__ -exec rm -rf {} +\n\
             fi\n"
        );
        assert_eq!(fill("#X# #PACKAGE## #", &c, "3.11"), "#X# app# #");
        assert_eq!(sh_quote("/a'b"), "'/a'\\''b'");
    }

    #[test]
    fn snippets_are_valid_sh() {
        let it = Interpreter::query(Path::new("/usr/bin/python3"), "/opt/venvs/app").unwrap();
        let c = cfg("postinst");
        for s in [postinst_snippet(&c, &it).unwrap(), prerm_snippet(&c)] {
            let st = std::process::Command::new("sh")
                .args(["-n", "-c", &crate::package::maintainer_script(&s)])
                .status()
                .unwrap();
            assert!(st.success(), "{s}");
        }
    }
}
