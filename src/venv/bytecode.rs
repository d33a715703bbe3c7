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

/// Shell-quote a path for a maintainer script (prefixes are validated to be
/// plain, but quote anyway).
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The postinst snippet (no `#!`/`set -e`): compile the venv's bytecode.
pub fn postinst_snippet(cfg: &Config, it: &Interpreter) -> Option<String> {
    if cfg.venv.bytecode != Bytecode::Postinst {
        return None;
    }
    Some(format!(
        "# Added by venvdeb: compile the virtualenv's bytecode (none is shipped).\n\
         if [ \"$1\" = configure ] && command -v py3compile >/dev/null 2>&1; then\n\
         \tpy3compile -p {pkg} -V {ver} {prefix}\n\
         fi\n",
        pkg = cfg.package.name,
        ver = it.short_version(),
        prefix = sh_quote(&cfg.venv.prefix),
    ))
}

/// The prerm snippet: remove every `__pycache__` under the prefix (compiled
/// in postinst or written at run time), so that nothing is left behind.
pub fn prerm_snippet(cfg: &Config) -> String {
    format!(
        "# Added by venvdeb: remove the virtualenv's bytecode.\n\
         if command -v py3clean >/dev/null 2>&1; then\n\
         \tpy3clean -p {pkg} || true\n\
         fi\n\
         if [ -d {prefix} ]; then\n\
         \tfind {prefix} -depth -type d -name __pycache__ -exec rm -rf {{}} +\n\
         fi\n",
        pkg = cfg.package.name,
        prefix = sh_quote(&cfg.venv.prefix),
    )
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
