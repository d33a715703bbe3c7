#!/usr/bin/python3
"""Write venvdeb's machine-readable debian/copyright for its binary package.

Usage: /usr/bin/python3 packaging/copyright.py METADATA.json > copyright

METADATA.json is `cargo metadata --format-version 1 --locked --offline
--filter-platform HOST` of this repository. The output is packaging/
copyright.in (venvdeb's own paragraph), one Files paragraph per Rust crate
in the normal-dependency closure of the venvdeb package (what is compiled
into the executable, proc-macro crates included), sorted by name and
version, then one License paragraph per license short name used, from
packaging/licenses/ (or debian-templates/licenses/Expat, or a pointer to
/usr/share/common-licenses). An SPDX expression this script cannot map is
an error, never a guess.
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# SPDX identifier -> DEP-5 short name.
SHORT = {
    "MIT": "Expat",
    "Apache-2.0": "Apache-2.0",
    "BSD-2-Clause": "BSD-2-Clause",
    "BSD-3-Clause": "BSD-3-Clause",
    "Unicode-3.0": "Unicode-3.0",
    "Unlicense": "Unlicense",
    "CDLA-Permissive-2.0": "CDLA-Permissive-2.0",
    "ISC": "ISC",
    "Zlib": "Zlib",
    "bzip2-1.0.6": "bzip2-1.0.6",
    "GPL-2.0-or-later": "GPL-2+",
}
COMMON = {"Apache-2.0": "Apache-2.0"}


def dep5_license(spdx, used):
    """An SPDX expression of the shapes crates.io uses, in DEP-5 syntax."""
    expr = spdx.replace("/", " OR ")

    def ident(tok):
        if tok not in SHORT:
            sys.exit(f"copyright.py: unknown license {tok!r} in {spdx!r}: add it to SHORT and packaging/licenses/")
        used.add(SHORT[tok])
        return SHORT[tok]

    def alt(s):
        return " or ".join(ident(t.strip()) for t in s.split(" OR "))

    # "(A OR B) AND C" -> "A or B, and C"; "A AND B" -> "A and B".
    m = re.fullmatch(r"\((.*)\) AND (.*)", expr)
    if m:
        return f"{alt(m.group(1))}, and {' and '.join(ident(t.strip()) for t in m.group(2).split(' AND '))}"
    if "(" in expr or ")" in expr:
        sys.exit(f"copyright.py: cannot map the license expression {spdx!r}")
    if " AND " in expr and " OR " in expr:
        sys.exit(f"copyright.py: cannot map the license expression {spdx!r}")
    if " AND " in expr:
        return " and ".join(ident(t.strip()) for t in expr.split(" AND "))
    return alt(expr)


def license_text(short):
    if short in COMMON:
        return (f" On Debian systems, the complete text of the {short} license can be found in\n"
                f" \"/usr/share/common-licenses/{COMMON[short]}\".\n")
    if short == "Expat":
        with open(os.path.join(REPO, "debian-templates/licenses/Expat"), encoding="utf-8") as f:
            return f.read()
    with open(os.path.join(HERE, "licenses", short), encoding="utf-8") as f:
        lines = f.read().rstrip("\n").split("\n")
    return "".join((" " + l.rstrip() if l.strip() else " .") + "\n" for l in lines)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        meta = json.load(f)
    pkgs = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = next(i for i, p in pkgs.items() if p["name"] == "venvdeb" and p["source"] is None)
    seen, todo = set(), [root]
    while todo:
        n = nodes[todo.pop()]
        for d in n["deps"]:
            if any(k["kind"] is None for k in d["dep_kinds"]) and d["pkg"] not in seen:
                seen.add(d["pkg"])
                todo.append(d["pkg"])
    used = set()
    out = []
    with open(os.path.join(HERE, "copyright.in"), encoding="utf-8") as f:
        out.append(f.read())
    for p in sorted((pkgs[i] for i in seen), key=lambda p: (p["name"], p["version"])):
        if not p.get("license"):
            sys.exit(f"copyright.py: crate {p['name']} {p['version']} declares no license expression")
        authors = [a.strip() for a in p.get("authors") or [] if a.strip()] or [f"the {p['name']} authors"]
        lic = dep5_license(p["license"], used)
        out.append(f"\nFiles: cargo-vendor/{p['name']}-{p['version']}/*\n"
                   f"Copyright: {authors[0]}\n" + "".join(f" {a}\n" for a in authors[1:]) +
                   f"License: {lic}\n")
    with open(os.path.join(HERE, "copyright-licenses.in"), encoding="utf-8") as f:
        out.append(f.read())
    for short in sorted(used - {"GPL-2+"}):
        out.append(f"\nLicense: {short}\n{license_text(short)}")
    sys.stdout.write("".join(out))


main()
