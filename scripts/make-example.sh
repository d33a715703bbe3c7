#!/bin/sh
# Make venvdeb's bundled example (example/) offline, deterministically:
#   1. build the demoapp wheel from example/demoapp-src with /usr/bin/python3
#      (a fixed-date, sorted zip: no setuptools, no network);
#   2. check the committed PyPI wheels against their pinned sha256
#      (`--fetch` downloads them again from PyPI with pip first: network);
#   3. write the hash-pinned lock (requirements.txt) and sha256sums.txt;
#   4. sign sha256sums.txt with the TEST-ONLY key fixtures/keys/test-key-a in
#      a throwaway GNUPGHOME and export its public key as keyring.gpg.
# Usage: scripts/make-example.sh [--fetch]
set -eu
cd "$(dirname "$0")/.."
ex=example
wh=$ex/wheelhouse
PY=/usr/bin/python3

# name==version  sha256  file (from PyPI, fetched once with `pip download`).
# Binary wheels come for CPython 3.11 (Debian 12 bookworm) and 3.13 (Debian 13
# trixie): MarkupSafe as a cp311 and a cp313 wheel, charset-normalizer 3.3.2
# (which has no cp313 wheel) as its cp311 wheel and its pure py3 wheel, which
# a 3.13 interpreter selects. A requirement with several files gets one
# --hash per file in the lock.
pinned='
tabulate==0.9.0 024ca478df22e9340661486f85298cff5f6dcdba14f3813e8830015b9ed1948f tabulate-0.9.0-py3-none-any.whl
charset-normalizer==3.3.2 753f10e867343b4511128c6ed8c82f7bec3bd026875576dfd88483c5c73b2fd8 charset_normalizer-3.3.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
charset-normalizer==3.3.2 3e4d1f6587322d2788836a99c69062fbb091331ec940e02d12d179c1d53e25fc charset_normalizer-3.3.2-py3-none-any.whl
markupsafe==3.0.2 a123e330ef0853c6e822384873bef7507557d8e4a082961e1defa947aa59ba84 MarkupSafe-3.0.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
markupsafe==3.0.2 15ab75ef81add55874e7ab7055e9c397312385bd9ced94920f2802310c930396 MarkupSafe-3.0.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
jupyterlab-pygments==0.3.0 841a89020971da1d8693f1a99997aefc5dc424bb1b251fd6322462a1b8842780 jupyterlab_pygments-0.3.0-py3-none-any.whl
'

if [ "${1:-}" = --fetch ]; then
  rm -f "$wh"/*.whl
  echo "$pinned" | while read -r req sum file; do
    [ -n "$req" ] || continue
    # The wheel's own tags say which interpreter to ask pip for.
    case $file in
      *-cp313-cp313-*) pyv=3.13 abi=cp313 plat=manylinux_2_17_x86_64 ;;
      *-cp311-cp311-*) pyv=3.11 abi=cp311 plat=manylinux_2_17_x86_64 ;;
      *) pyv=3.13 abi=none plat=any ;;
    esac
    tmp=$(mktemp -d)
    PIP_FIND_LINKS= $PY -m pip download --quiet --no-deps --only-binary=:all: \
      --python-version "$pyv" --implementation cp --abi "$abi" --platform "$plat" \
      -d "$tmp" "$req"
    mv "$tmp/$file" "$wh/$file"
    rm -rf "$tmp"
  done
fi

echo "$pinned" | while read -r req sum file; do
  [ -n "$req" ] || continue
  have=$(sha256sum "$wh/$file" | cut -d' ' -f1)
  if [ "$have" != "$sum" ]; then
    echo "make-example: $wh/$file: sha256 expected $sum, found $have" >&2
    exit 3
  fi
done

# 1. The demoapp wheel.
rm -f "$wh"/demoapp-*.whl
$PY - "$ex/demoapp-src" "$wh" <<'PYEOF'
import base64, hashlib, os, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
name, version = "demoapp", "1.0.0"
dist = f"{name}-{version}.dist-info"
data = f"{name}-{version}.data"
def read(p):
    with open(os.path.join(src, p), "rb") as f:
        return f.read()
metadata = f"""Metadata-Version: 2.1
Name: {name}
Version: {version}
Summary: venvdeb's example application
License: GPL-2.0-or-later
Requires-Python: >=3.9
Provides-Extra: wide
Requires-Dist: tabulate>=0.9
Requires-Dist: charset-normalizer<4,>=3.0
Requires-Dist: MarkupSafe>=2.1
Requires-Dist: jupyterlab_pygments~=0.3.0
Requires-Dist: colorama; sys_platform == "win32"
Requires-Dist: tabulate[widechars]; extra == "wide"

demoapp shows a packaged virtualenv working: a pure wheel, two binary
manylinux wheels, console and GUI scripts, and files shipped in `.data/`.
""".encode()
wheel = b"Wheel-Version: 1.0\nGenerator: venvdeb make-example.sh\nRoot-Is-Purelib: true\nTag: py3-none-any\n\n"
entry_points = b"[console_scripts]\ndemoapp = demoapp.cli:main\n\n[gui_scripts]\ndemoapp-gui = demoapp.cli:gui\n"
files = [
    ("demoapp/__init__.py", read("demoapp/__init__.py"), 0o644),
    ("demoapp/cli.py", read("demoapp/cli.py"), 0o644),
    (f"{data}/data/share/demoapp/greeting.txt", read("greeting.txt"), 0o644),
    (f"{data}/headers/demoapp.h", read("demoapp.h"), 0o644),
    (f"{data}/scripts/demoapp-hello", read("demoapp-hello"), 0o755),
    (f"{dist}/LICENSE", read("LICENSE"), 0o644),
    (f"{dist}/METADATA", metadata, 0o644),
    (f"{dist}/WHEEL", wheel, 0o644),
    (f"{dist}/entry_points.txt", entry_points, 0o644),
    (f"{dist}/top_level.txt", b"demoapp\n", 0o644),
]
def h(b):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
record = "".join(f"{p},{h(b)},{len(b)}\n" for p, b, _ in files) + f"{dist}/RECORD,,\n"
files.append((f"{dist}/RECORD", record.encode(), 0o644))
path = os.path.join(out, f"{name}-{version}-py3-none-any.whl")
with zipfile.ZipFile(path, "w") as z:
    for p, b, mode in files:
        zi = zipfile.ZipInfo(p, date_time=(2024, 1, 1, 0, 0, 0))
        zi.compress_type = zipfile.ZIP_DEFLATED
        zi.external_attr = (0o100000 | mode) << 16
        zi.create_system = 3
        z.writestr(zi, b, compresslevel=9)
print(path)
PYEOF

# 3. Lock and signed list.
: > "$ex/requirements.txt.new"
{
  echo "# venvdeb example lock: every wheel pinned by version and sha256."
  echo "# Made by scripts/make-example.sh."
} > "$ex/requirements.txt.new"
app=$wh/demoapp-1.0.0-py3-none-any.whl
printf 'demoapp==1.0.0 \\\n    --hash=sha256:%s\n' "$(sha256sum "$app" | cut -d' ' -f1)" >> "$ex/requirements.txt.new"
echo "$pinned" | LC_ALL=C sort | awk 'NF {
  if ($1 != req) { if (req != "") printf "\n"; req = $1; printf "%s", req }
  printf " \\\n    --hash=sha256:%s", $2
} END { printf "\n" }' >> "$ex/requirements.txt.new"
mv "$ex/requirements.txt.new" "$ex/requirements.txt"
(cd "$wh" && LC_ALL=C sha256sum -- *.whl) > "$ex/sha256sums.txt"

# 4. Sign with the TEST-ONLY key a (its secret half is public).
GNUPGHOME=$(mktemp -d)
export GNUPGHOME
trap 'rm -rf "$GNUPGHOME"' EXIT
gpg --batch --quiet --import fixtures/keys/test-key-a.secret.asc
gpg --batch --yes --armor --detach-sign -o "$ex/sha256sums.txt.asc" "$ex/sha256sums.txt"
cp fixtures/keys/test-key-a.public.gpg "$ex/keyring.gpg"
gpgv --keyring "$(pwd)/$ex/keyring.gpg" "$ex/sha256sums.txt.asc" "$ex/sha256sums.txt"
echo "make-example: example/ is ready"
