#!/bin/bash
# Benchmark `venvdeb wheels build` on real sdists from PyPI (six: setuptools,
# idna: flit-core) against `pip wheel --no-deps --no-build-isolation` on the
# same sdist with the same backends, and check that two venvdeb builds (other
# directory, umask, TZ, faked clock) give identical wheels.
#
# Usage: scripts/bench-wheels.sh [RUNS]   (default 3; prints medians)
# Network: the first run downloads the sdists and backend wheels once with
# `pip download` into $BENCH_DIR (default /tmp/venvdeb-bench-wheels); later
# runs reuse them. The pins are the sha256 of what was downloaded.
# VENVDEB=path picks the binary (default: target/debug/venvdeb, built here).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
B=${BENCH_DIR:-/tmp/venvdeb-bench-wheels}
PY=/usr/bin/python3
export SOURCE_DATE_EPOCH=1700000000
if [ -z "${VENVDEB:-}" ]; then
  cargo build -q
  VENVDEB=$PWD/target/debug/venvdeb
fi
mkdir -p "$B/sdists" "$B/backends"
if ! ls "$B"/sdists/six-*.tar.gz "$B"/sdists/idna-*.tar.gz >/dev/null 2>&1; then
  $PY -m pip download -q --no-binary :all: --no-deps -d "$B/sdists" six idna
fi
if ! ls "$B"/backends/flit_core-*.whl "$B"/backends/setuptools-*.whl >/dev/null 2>&1; then
  $PY -m pip download -q --only-binary :all: --no-deps -d "$B/backends" flit_core setuptools
fi
pin() { # file -> name==version --hash=sha256:...
  local f=$1 base n v
  base=$(basename "$f"); base=${base%.tar.gz}; base=${base%.whl}
  n=$(echo "$base" | cut -d- -f1); v=$(echo "$base" | cut -d- -f2)
  echo "$n==$v --hash=sha256:$(sha256sum "$f" | cut -d' ' -f1)"
}
: > "$B/backends/requirements.txt"
for w in "$B"/backends/*.whl; do pin "$w" >> "$B/backends/requirements.txt"; done
# pip's side: a venv holding the same backend wheels, for --no-build-isolation.
if [ ! -x "$B/pipenv/bin/pip" ]; then
  $PY -m venv "$B/pipenv"
  PIP_CONFIG_FILE=/dev/null "$B/pipenv/bin/pip" install -q --no-index --no-deps "$B"/backends/*.whl
fi
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-22s %10s %10s %7s  %s\n' sdist venvdeb_s pip_s ratio "two venvdeb builds"
for sd in "$B"/sdists/six-*.tar.gz "$B"/sdists/idna-*.tar.gz; do
  name=$(basename "$sd")
  one=$B/one-${name%.tar.gz}; rm -rf "$one"; mkdir -p "$one/sdists"
  cp "$sd" "$one/sdists/"; pin "$sd" > "$one/sdists/requirements.txt"
  vt=(); pt=()
  for i in $(seq "$RUNS"); do
    rm -rf "$one/out" && mkdir "$one/out"
    t0=$(now)
    "$VENVDEB" wheels build --requirements "$one/sdists/requirements.txt" --sdists "$one/sdists" \
      --backends "$B/backends" --backend-requirements "$B/backends/requirements.txt" --output "$one/out" >/dev/null
    t1=$(now); vt+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")
    rm -rf "$one/pip" && mkdir "$one/pip"
    t0=$(now)
    PIP_CONFIG_FILE=/dev/null "$B/pipenv/bin/pip" wheel -q --no-deps --no-build-isolation --no-index \
      --no-cache-dir --disable-pip-version-check -w "$one/pip" "$sd"
    t1=$(now); pt+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")
  done
  # The reproducibility check: another directory, umask 077, TZ, faked clock, one CPU.
  other=$B/elsewhere/deeper/${name%.tar.gz}; rm -rf "$other"; mkdir -p "$other/in" "$other/out"
  cp -r "$one/sdists" "$other/in/"; cp -r "$B/backends" "$other/in/"
  (cd "$other" && umask 077 && TZ=Asia/Tokyo faketime '2031-02-03 04:05:06' taskset -c 0 \
    "$VENVDEB" wheels build --requirements in/sdists/requirements.txt --sdists in/sdists \
    --backends in/backends --backend-requirements in/backends/requirements.txt --output out >/dev/null)
  same="identical"
  for w in "$one"/out/*.whl; do
    cmp -s "$w" "$other/out/$(basename "$w")" || same="DIFFERENT ($(basename "$w"))"
  done
  # Same files as pip's wheel (RECORD aside)? Only the container should differ.
  content=$($PY - "$one"/out/*.whl "$one"/pip/*.whl <<'PYEOF'
import sys, zipfile
def files(p):
    z = zipfile.ZipFile(p)
    return {i.filename: z.read(i) for i in z.infolist() if not i.is_dir() and not i.filename.endswith('.dist-info/RECORD')}
a, b = files(sys.argv[1]), files(sys.argv[2])
print('same files as pip' if a == b else 'files differ from pip: ' + ' '.join(sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))))
PYEOF
)
  pip_same=$(cmp -s "$one"/out/*.whl "$one"/pip/*.whl && echo "bytes = pip's" || echo "bytes != pip's")
  vm=$(printf '%s\n' "${vt[@]}" | median); pm=$(printf '%s\n' "${pt[@]}" | median)
  printf '%-22s %10.3f %10.3f %6.2fx  %s; %s, %s: %s\n' "$name" "$vm" "$pm" "$(awk -v a="$vm" -v b="$pm" 'BEGIN {print a / b}')" \
    "$same" "$content" "$pip_same" "$(cd "$one/out" && sha256sum ./*.whl | sed 's|  ./| |')"
done
