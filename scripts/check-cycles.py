#!/usr/bin/python3
"""Fail on any import cycle between venvdeb's modules.

A module is one file under src/ (src/a/b.rs is a::b, src/a/mod.rs is a). A
module depends on another when it names it in a path: `use crate::x::y`,
`crate::x::y::f(...)`, `super::y`, `self::y`, or a child module by name in a
`use`. A path resolves to the longest module prefix it names, so
`crate::venv::interpreter::QUERY_TIMEOUT` is a dependency on
venv::interpreter, not on venv. `mod` declarations are not dependencies, nor is code in a `#[cfg(test)]`
module (tests may share fixtures across modules), nor a path between a
module and its own submodules (`super::X` in a child, `child::Y` in its
parent: nesting is containment, and a parent's facade re-exports its
children). Comments and string
literals are ignored.

Prints every cycle (a strongly connected component of more than one module,
with one path around it) and exits 1 if there is any; 0 otherwise.
Usage: /usr/bin/python3 scripts/check-cycles.py [SRC_DIR]
"""
import os
import re
import sys

PATH = re.compile(r"\b(crate|super|self)((?:\s*::\s*[A-Za-z_][A-Za-z0-9_]*)+)")
USE = re.compile(r"\buse\s+([^;]+);", re.S)


def strip(text):
    """Remove comments, string and char literals (keeping line structure)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c == "r" and re.match(r'r#*"', text[i:]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r"r(#*)\"", text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            i = n if end < 0 else end + 1 + len(hashes)
            out.append('""')
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:]):
            i += len(re.match(r"'(\\.[^']*|[^\\'])'", text[i:]).group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def modules(src):
    mods = {}
    for dirpath, _, files in os.walk(src):
        for f in sorted(files):
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), src)[:-3].split(os.sep)
            if rel[-1] == "mod":
                rel = rel[:-1]
            if rel in (["lib"], ["main"]):
                rel = []
            mods[tuple(rel)] = os.path.join(dirpath, f)
    return mods


def resolve(mods, parts):
    """The longest prefix of `parts` that is a module."""
    for k in range(len(parts), 0, -1):
        if tuple(parts[:k]) in mods:
            return tuple(parts[:k])
    return ()


def use_trees(body):
    """Expand a `use` body (`a::{b, c::d}`) into its paths."""
    body = re.sub(r"\s+", "", body)
    out = []

    def walk(prefix, s):
        depth, start, items = 0, 0, []
        for i, c in enumerate(s):
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            elif c == "," and depth == 0:
                items.append(s[start:i])
                start = i + 1
        items.append(s[start:])
        for it in items:
            if not it:
                continue
            if "{" in it:
                head, rest = it.split("{", 1)
                walk(prefix + [p for p in head.split("::") if p], rest[:-1])
            else:
                out.append(prefix + [p for p in it.split(" as ")[0].split("::") if p])

    walk([], body)
    return out


def inline_modules(text):
    """The inline `mod name { ... }` blocks: (start, end, name, is_test)."""
    spans, stack, depth = [], [], 0
    opens = {}
    for m in re.finditer(r"(#\[cfg\(test\)\]\s*)?(?:pub(?:\([^)]*\))?\s+)?\bmod\s+([A-Za-z_][A-Za-z0-9_]*)\s*\{", text):
        opens[m.end() - 1] = (m.group(2), bool(m.group(1)))
    for i, c in enumerate(text):
        if c == "{":
            depth += 1
            if i in opens:
                stack.append((i, depth, opens[i]))
        elif c == "}":
            if stack and stack[-1][1] == depth:
                start, _, (name, test) = stack.pop()
                spans.append((start, i, name, test))
            depth -= 1
    return spans


def deps(mods, me, text):
    found = set()
    spans = inline_modules(text)
    aliases = {}

    def here(pos):
        inner = sorted((s for s in spans if s[0] < pos < s[1]), key=lambda s: s[0])
        return list(me) + [s[2] for s in inner]

    def absolute(parts, pos):
        base = here(pos)
        while parts and parts[0] in ("super", "self"):
            if parts[0] == "super":
                base = base[:-1]
            parts = parts[1:]
        return base + parts

    def add(target, pos):
        if any(sp[0] < pos < sp[1] and sp[3] for sp in spans):
            return None  # #[cfg(test)] code: not part of the architecture
        m = resolve(mods, target)
        n = min(len(m), len(me))
        if m and m[:n] != tuple(me)[:n]:  # nesting is containment, not an import
            found.add(m)
        return m

    for m in USE.finditer(text):
        for parts in use_trees(m.group(1)):
            if not parts:
                continue
            if parts[0] == "crate":
                target = parts[1:]
            elif parts[0] in ("super", "self"):
                target = absolute(parts, m.start())
            elif tuple(here(m.start())) + (parts[0],) in mods:
                target = here(m.start()) + parts
            else:
                continue
            if tuple(target) in mods and target:
                aliases[target[-1]] = target
    for m in PATH.finditer(text):
        parts = [m.group(1)] + [p.strip() for p in m.group(2).split("::") if p.strip()]
        add(parts[1:] if parts[0] == "crate" else absolute(parts, m.start()), m.start())
    for m in USE.finditer(text):
        for parts in use_trees(m.group(1)):
            if parts and parts[0] not in ("crate", "super", "self") and tuple(here(m.start())) + (parts[0],) in mods:
                add(here(m.start()) + parts, m.start())
    # Paths through an imported module name (`use crate::commands;` then
    # `commands::build::run`).
    for name, target in aliases.items():
        for m in re.finditer(r"(?<![A-Za-z0-9_:])" + re.escape(name) + r"((?:\s*::\s*[A-Za-z_][A-Za-z0-9_]*)+)", text):
            add(target + [p.strip() for p in m.group(1).split("::") if p.strip()], m.start())
    found.discard(tuple(me))
    return found


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "src")
    mods = modules(src)
    graph = {}
    for me, path in sorted(mods.items()):
        with open(path, encoding="utf-8") as f:
            graph[me] = sorted(deps(mods, me, strip(f.read())))
    # Tarjan's strongly connected components (iterative).
    index, low, on, stack, sccs, counter = {}, {}, set(), [], [], [0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter[0]
                counter[0] += 1
                stack.append(v)
                on.add(v)
            recurse = False
            for j in range(i, len(graph[v])):
                w = graph[v][j]
                if w not in index:
                    work.append((v, j + 1))
                    work.append((w, 0))
                    recurse = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if recurse:
                continue
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    sccs.append(sorted(comp))
            if work:
                u = work[-1][0]
                low[u] = min(low[u], low[v])
    name = lambda m: "::".join(m) or "crate"
    for comp in sccs:
        members = set(comp)
        # One path around the cycle, from the first member back to it.
        start, path, seen = comp[0], [comp[0]], {comp[0]}
        while True:
            nxt = [w for w in graph[path[-1]] if w in members]
            back = [w for w in nxt if w == start]
            if back and len(path) > 1:
                path.append(start)
                break
            fresh = [w for w in nxt if w not in seen]
            if not fresh:
                path.append(start)
                break
            path.append(fresh[0])
            seen.add(fresh[0])
        print("import cycle: " + " -> ".join(name(m) for m in path))
    if sccs:
        print(f"{len(sccs)} import cycle(s) among src/ modules", file=sys.stderr)
        return 1
    print(f"no import cycles among {len(mods)} src/ modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
