"""Snapshot a venv as JSON for compare.py: relative path -> [kind, ...].

Files: ["file", sha256, executable, text-or-null] (text kept for files
under 256 KiB that decode as UTF-8, to show differences); symlinks:
["link", target, realpath]; directories: ["dir"]. Symlinked directories are
not followed.
"""
import hashlib, json, os, stat, sys

root = sys.argv[1]
out = {}
for d, dirs, files in os.walk(root):
    for n in dirs + files:
        p = os.path.join(d, n)
        rel = os.path.relpath(p, root)
        st = os.lstat(p)
        if stat.S_ISLNK(st.st_mode):
            out[rel] = ["link", os.readlink(p), os.path.realpath(p)]
        elif stat.S_ISDIR(st.st_mode):
            out[rel] = ["dir"]
        else:
            h = hashlib.sha256()
            text = None
            with open(p, "rb") as f:
                head = f.read(256 << 10)
                h.update(head)
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
                    head = None
            if head is not None:
                try:
                    text = head.decode("utf-8")
                except UnicodeDecodeError:
                    text = None
            out[rel] = ["file", h.hexdigest(), bool(st.st_mode & 0o111), text]
json.dump(out, sys.stdout, sort_keys=True)
