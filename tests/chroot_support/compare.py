"""Compare venvdeb's venv with the release's venv + pip (tree.py snapshots).

  compare.py OURS.json PIP.json X.Y

Equal byte for byte, apart from what docs/releases.md documents:
 - pip's bookkeeping: RECORD, INSTALLER, REQUESTED, direct_url.json;
 - __pycache__ (venvdeb ships no bytecode; postinst compiles it);
 - Activate.ps1, and the .gitignore and bin/𝜋thon of Python 3.13's venv;
 - pyvenv.cfg's `command =` line (it names the build path);
 - the python links: venvdeb links bin/python to the versioned interpreter
   and python3, python3.X to python; all must resolve to /usr/bin/pythonX.Y.
"""
import difflib, json, sys

ours = json.load(open(sys.argv[1]))
pip = json.load(open(sys.argv[2]))
py = sys.argv[3]


def skip(p):
    parts = p.split("/")
    return parts[-1] in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json") \
        or "__pycache__" in parts


ours = {k: v for k, v in ours.items() if not skip(k)}
pip = {k: v for k, v in pip.items() if not skip(k)}
assert "bin/Activate.ps1" in pip, "the release's venv wrote no Activate.ps1"
for p in ("bin/Activate.ps1", ".gitignore", "bin/\U0001d70bthon"):
    pip.pop(p, None)
cfg = pip["pyvenv.cfg"][3]
assert "command = " in cfg, cfg
pip["pyvenv.cfg"][3] = "".join(l + "\n" for l in cfg.splitlines() if not l.startswith("command = "))
import hashlib
pip["pyvenv.cfg"][1] = hashlib.sha256(pip["pyvenv.cfg"][3].encode()).hexdigest()
for l in ("bin/python", "bin/python3", "bin/python" + py):
    o, p = ours.pop(l), pip.pop(l)
    assert o[0] == p[0] == "link", (l, o, p)
    assert o[2] == p[2] == "/usr/bin/python" + py, (l, o, p)
bad = []
for k in sorted(set(ours) | set(pip)):
    if k not in ours:
        bad.append("only pip wrote " + k)
    elif k not in pip:
        bad.append("only venvdeb wrote " + k)
    elif ours[k] != pip[k]:
        bad.append("differs: %s (venvdeb %s, pip %s)" % (k, ours[k][:3], pip[k][:3]))
        if ours[k][0] == pip[k][0] == "file" and ours[k][3] is not None and pip[k][3] is not None:
            d = difflib.unified_diff(pip[k][3].splitlines(), ours[k][3].splitlines(),
                                     "pip", "venvdeb", lineterm="")
            bad.extend("    " + l for l in list(d)[:40])
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
print("oracle: %d paths equal (%d files)" % (len(ours), sum(v[0] == "file" for v in ours.values())))
