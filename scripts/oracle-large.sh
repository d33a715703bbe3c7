#!/bin/sh
# The per-release oracle (tests/chroot_support/oracle.sh, as in
# tests/chroot_oracle.rs) with a larger real wheel set: the 20-wheel bench set
# (../shared/bench/requirements.txt: Django, numpy, pillow, lxml, pydantic,
# psycopg2-binary …) for CPython 3.11 (bookworm) plus the cp313 wheels of the
# same releases for trixie, pinned by sha256 below. Not part of CI: fetching
# the wheels needs PyPI (once; they are kept under /var/tmp/venvdeb-bench).
#
#   scripts/oracle-large.sh [--venvdeb PATH] [RELEASE ...]   (default: bookworm trixie)
#
# For each release, in a fresh chroot from scripts/chroot.sh without network:
# venvdeb builds a package of the whole set against the release's
# /usr/bin/python3; it is installed, snapshotted and purged; the release's
# `python3 -m venv --without-pip` + pip install the same wheels at the same
# prefix; both trees must be equal (documented differences aside); a rebuild
# under another path/umask/TZ/locale/CPU/clock gives the same bytes and
# `venvdeb rebuild --check` agrees. Needs root. Prints one line per release
# and exits non-zero when any fails.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
bench=${VENVDEB_BENCH_DIR:-/var/tmp/venvdeb-bench}
shared=${VENVDEB_SHARED_BENCH:-$repo/../shared/bench}
[ -f "$shared/requirements.txt" ] || shared=/work/shared/bench
venvdeb=
while [ $# -gt 0 ]; do
  case $1 in
    --venvdeb) venvdeb=${2:?}; shift 2 ;;
    --) shift; break ;;
    -*) echo "oracle-large.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || set -- bookworm trixie
if [ -z "$venvdeb" ]; then
  for c in "$repo/target/release/venvdeb" "$repo/target/debug/venvdeb"; do
    [ -x "$c" ] && { venvdeb=$c; break; }
  done
fi
[ -n "$venvdeb" ] && [ -x "$venvdeb" ] || { echo "oracle-large.sh: build venvdeb first (cargo build --release)" >&2; exit 2; }
[ -f "$shared/requirements.txt" ] || { echo "oracle-large.sh: no bench requirements.txt (set VENVDEB_SHARED_BENCH)" >&2; exit 2; }

# cp313 wheels of the bench set's binary requirements (the pure ones are
# shared with 3.11): name==version sha256 file.
cp313='
charset-normalizer==3.5.2 7218e8f32b0956cfcd048fd42d9d5779809745ca1d86113ca56f66e7ae1549c4 charset_normalizer-3.5.2-cp313-cp313-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl
lxml==6.1.3 d85dfab42dd672f87a7f76e9de7172962aee69fa12044f0d6e1a23cbd53fb80e lxml-6.1.3-cp313-cp313-manylinux_2_26_x86_64.manylinux_2_28_x86_64.whl
markupsafe==3.0.4 434139499bb20b502ed3baa1f169e618f924a97e7a777fea1a49446d80106cf6 markupsafe-3.0.4-cp313-cp313-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl
numpy==2.4.6 a7830bab239b79cda9c08c2da014761cafb48da6150e1da17ac06283f43b6089 numpy-2.4.6-cp313-cp313-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl
pillow==13.0.0 5f56499c1a74d2b862beb0c33b8016f99d095858455df9d21583bbbc1c15b582 pillow-13.0.0-cp313-cp313-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl
psycopg2-binary==2.9.13 f04ada42bcd537adbaf8b7f3140237a204e452a88d0c1831cfce69f7d2e59f4e psycopg2_binary-2.9.13-cp313-cp313-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
pydantic-core==2.50.5 cbfde3ad127786f1dea1a6cd89a5eb824a16203f24743ad2b4e07506f43bc844 pydantic_core-2.50.5-cp313-cp313-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
'

# 1. The wheels: the 3.11 set (fetch-wheelhouse.sh) and the cp313 ones.
w311=$bench/wheels-20 w313=$bench/wheels-20-cp313
[ "$(ls "$w311" 2>/dev/null | wc -l)" -ge 20 ] || sh "$shared/fetch-wheelhouse.sh" "$w311"
mkdir -p "$w313"
echo "$cp313" | while read -r req sum file; do
  [ -n "$req" ] || continue
  if [ ! -f "$w313/$file" ]; then
    PIP_FIND_LINKS= /usr/bin/python3 -m pip download --quiet --no-deps --only-binary=:all: \
      --python-version 3.13 --implementation cp --abi cp313 \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
      --platform manylinux_2_26_x86_64 --platform manylinux_2_17_x86_64 \
      --platform manylinux2014_x86_64 -d "$w313" "$req"
  fi
  have=$(sha256sum "$w313/$file" | cut -d' ' -f1)
  [ "$have" = "$sum" ] || { echo "oracle-large.sh: $w313/$file: sha256 expected $sum, found $have" >&2; exit 3; }
done

# 2. One project for both releases: both wheel sets, a lock with every
# wheel's hash, a signed list (TEST-ONLY key a of fixtures/keys).
work=$(mktemp -d "${TMPDIR:-/var/tmp}/oracle-large.XXXXXX")
trap 'gpgconf --homedir "$work/gnupg" --kill gpg-agent 2>/dev/null || true; rm -rf "$work"' EXIT INT TERM
p=$work/project
mkdir -p "$p/wheelhouse" "$p/debian" "$work/bin"
cp "$w311"/*.whl "$p/wheelhouse/"
echo "$cp313" | while read -r req sum file; do
  if [ -n "$req" ]; then cp "$w313/$file" "$p/wheelhouse/"; fi
done
cp "$venvdeb" "$work/bin/venvdeb"
CP313=$cp313 /usr/bin/python3 - "$shared/requirements.txt" "$p/requirements.txt" <<'PY'
import os, re, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
extra = {}
for line in os.environ["CP313"].split("\n"):
    if line.strip():
        req, sha, _ = line.split()
        extra.setdefault(req, []).append(sha)
out = []
for line in text.splitlines():
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    req, *rest = line.split()
    hashes = [h.split(":", 1)[1] for h in rest if h.startswith("--hash=sha256:")]
    hashes += extra.pop(req, [])
    out.append(req + "".join(" \\\n    --hash=sha256:" + h for h in sorted(hashes)))
assert not extra, extra
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PY
(cd "$p/wheelhouse" && LC_ALL=C sha256sum -- *.whl) >"$p/sha256sums.txt"
GNUPGHOME=$work/gnupg
export GNUPGHOME
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --import "$repo/fixtures/keys/test-key-a.secret.asc"
gpg --batch --quiet --yes --armor --detach-sign -o "$p/sha256sums.txt.asc" "$p/sha256sums.txt"
cp "$repo/fixtures/keys/test-key-a.public.gpg" "$p/keyring.gpg"
cat >"$p/debian/changelog" <<'CL'
oracle-large (1.0-1) unstable; urgency=medium

  * The bench wheel set, for the per-release oracle.

 -- venvdeb oracle <oracle@example.org>  Mon, 01 Jan 2024 00:00:00 +0000
CL
cat >"$p/venvdeb.toml" <<'TOML'
inputs = { wheelhouse = "wheelhouse", lock = "requirements.txt", sums = "sha256sums.txt", signature = "sha256sums.txt.asc", keyring = "keyring.gpg" }
venv = { python = "/usr/bin/python3" }

[package]
name = "oracle-large"
version = "1.0-1"
maintainer = "venvdeb oracle <oracle@example.org>"
description = "the bench wheel set in a virtualenv"
TOML

# 3. The oracle in each release's chroot.
status=0
for release in "$@"; do
  tar=$(sh "$repo/scripts/chroot.sh" tarball "$release")
  start=$(date +%s)
  if out=$(sh "$repo/scripts/chroot.sh" run "$tar" --no-net \
      --ro-bind "$p:/ex" --ro-bind "$work/bin:/venvdeb" \
      --ro-bind "$repo/tests/chroot_support:/oracle" \
      -- sh /oracle/oracle.sh "$release" oracle-large 2>&1); then
    echo "$out" | grep '^oracle: '
    echo "oracle-large: $release passed in $(($(date +%s) - start)) s"
  else
    echo "$out" | tail -60
    echo "oracle-large: $release FAILED"
    status=1
  fi
done
exit $status
