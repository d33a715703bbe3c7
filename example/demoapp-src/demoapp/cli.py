"""The demoapp command: proves the packaged virtualenv works.

It imports a pure wheel (tabulate), two binary manylinux wheels (MarkupSafe,
charset-normalizer with its compiled speedups) and reads data files that
wheels shipped through `.data/data` (its own and jupyterlab_pygments').
"""
import os
import sys

import charset_normalizer
import markupsafe
from tabulate import tabulate

from demoapp import __version__


def _data(*parts):
    return os.path.join(sys.prefix, "share", *parts)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    with open(_data("demoapp", "greeting.txt"), encoding="utf-8") as f:
        greeting = f.read().strip()
    sample = "Grüße aus dem virtualenv".encode("utf-8")
    best = charset_normalizer.from_bytes(sample).best()
    rows = [
        ["demoapp", __version__],
        ["python", "%d.%d.%d" % sys.version_info[:3]],
        ["prefix", sys.prefix],
        ["markupsafe", markupsafe.escape("<ok & safe>")],
        ["markupsafe speedups", "markupsafe._speedups" if "markupsafe._speedups" in sys.modules else "none"],
        ["charset", best.encoding if best else "unknown"],
        ["labextension data", str(os.path.isfile(_data("jupyter", "labextensions", "jupyterlab_pygments", "package.json")))],
    ]
    print(greeting)
    print(tabulate(rows, headers=["what", "value"]))
    if argv:
        print("args:", " ".join(argv))
    return 0


def gui():
    return main(["--gui"])
