#!/bin/sh
# Benchmark `venvdeb deb` against `dpkg-deb --root-owner-group` on the same
# trees (~100 MB and ~1 GB of real wheel contents from ../shared/bench), for
# xz and zstd, plus `zstd -T0 -3` on the raw data tar; prints wall time,
# ratios and peak RSS (/usr/bin/time -v) and whether the bytes are identical.
#
# Usage: scripts/bench-deb.sh [small|large|all]     (default: all)
# Cache (wheels, trees, outputs): ${VENVDEB_BENCH_CACHE:-/var/tmp/venvdeb-bench}
# Needs: dpkg-deb, zstd, unzip, /usr/bin/time, a release build (made here).
set -eu
which=${1:-all}
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${VENVDEB_BENCH_CACHE:-/var/tmp/venvdeb-bench}
fetch=${VENVDEB_BENCH_FETCH:-$here/../shared/bench/fetch-wheelhouse.sh}
SDE=1700000000
export LC_ALL=C

mkdir -p "$cache"
if [ "$(ls "$cache/wheels" 2>/dev/null | grep -c '\.whl$' || true)" -lt 20 ]; then
  echo "fetching the benchmark wheelhouse into $cache/wheels" >&2
  # The fetch script runs `python3 -m venv`: make that Debian's python3.
  PATH=/usr/bin:$PATH sh "$fetch" "$cache/wheels"
fi

(cd "$here" && cargo build --release --quiet)
venvdeb=$here/target/release/venvdeb

control() {
  mkdir -p "$1/DEBIAN"
  chmod 755 "$1/DEBIAN"
  printf 'Package: venvdeb-bench\nVersion: 1.0\nArchitecture: amd64\nMaintainer: Bench <bench@example.org>\nDescription: benchmark tree\n' >"$1/DEBIAN/control"
}

# small: wheels unpacked into one site-packages, in name order, until the
# tree holds 100 MB.
small=$cache/trees/small
if [ ! -e "$small/.done" ]; then
  rm -rf "$small"
  sp=$small/opt/venvs/bench/lib/python3.11/site-packages
  mkdir -p "$sp"
  for w in "$cache"/wheels/*.whl; do
    unzip -q -o "$w" -d "$sp"
    [ "$(du -sb "$sp" | cut -f1)" -ge 100000000 ] && break
  done
  control "$small"
  touch "$small/.done"
fi
# large: ten copies of it under different prefixes (~1 GB).
large=$cache/trees/large
if [ "$which" != small ] && [ ! -e "$large/.done" ]; then
  rm -rf "$large"
  mkdir -p "$large/opt/venvs"
  for i in 0 1 2 3 4 5 6 7 8 9; do
    cp -a "$small/opt/venvs/bench" "$large/opt/venvs/bench$i"
  done
  control "$large"
  touch "$large/.done"
fi
# .done markers must not end up in the packages.
mkdir -p "$cache/out"
out=$cache/out

# run LABEL CMD... : wall seconds, CPU seconds (user+system, all processes
# waited for) and max RSS (MB, largest single process) into $wall $cpu $rss.
run() {
  label=$1; shift
  /usr/bin/time -v -o "$out/time.txt" "$@" >/dev/null 2>"$out/stderr.txt" || {
    cat "$out/stderr.txt" >&2; echo "FAILED: $label" >&2; exit 1; }
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$out/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$out/time.txt")
  cpu=$(awk -F': ' '/User time|System time/ {s+=$2} END {printf "%.2f", s}' "$out/time.txt")
}

echo "wall and CPU (user+sys) seconds, peak RSS in MB; ratio = venvdeb/dpkg-deb wall (CPU)"
printf '%-6s %-5s %9s %8s %7s | %9s %8s %7s | %12s %s\n' tree comp "dpkg wall" "cpu" "RSS" "venvdeb" "cpu" "RSS" "ratio" identical
for t in small large; do
  [ "$which" = all ] || [ "$which" = "$t" ] || continue
  tree=$cache/trees/$t
  mv "$tree/.done" "$cache/.done-$t"
  size=$(du -sb --exclude=DEBIAN "$tree" | cut -f1)
  for c in xz zstd; do
    rm -f "$out/dpkg.deb" "$out/venvdeb.deb"
    run "dpkg-deb $t $c" env SOURCE_DATE_EPOCH=$SDE dpkg-deb --root-owner-group -Z$c --build "$tree" "$out/dpkg.deb"
    dwall=$wall; dcpu=$cpu; drss=$rss
    run "venvdeb $t $c" "$venvdeb" deb --root "$tree" --output "$out/venvdeb.deb" -Z $c --source-date-epoch $SDE
    same=no; cmp -s "$out/dpkg.deb" "$out/venvdeb.deb" && same=yes
    vwall=$wall; vcpu=$cpu
    ratio=$(awk -v a="$wall" -v b="$dwall" -v c="$cpu" -v d="$dcpu" 'BEGIN {printf "%.2f (%.2f)", a/b, c/d}')
    printf '%-6s %-5s %9s %8s %7s | %9s %8s %7s | %12s %s\n' "$t" "$c" "$dwall" "$dcpu" "$drss" "$wall" "$cpu" "$rss" "$ratio" "$same"
    if [ "$c" = zstd ]; then
      "$venvdeb" deb --root "$tree" --output "$out/none.deb" -Z none --source-date-epoch $SDE
      (cd "$out" && ar x none.deb data.tar && rm -f none.deb)
      run "zstd -T0 $t" zstd -q -f -3 -T0 "$out/data.tar" -o "$out/data.tar.zst"
      ratio=$(awk -v a="$vwall" -v b="$wall" -v c="$vcpu" -v d="$cpu" 'BEGIN {printf "%.2f (%.2f)", a/b, c/d}')
      printf '%-6s %-5s %9s %8s %7s   zstd -T0 -3 on the raw %s-byte data.tar; venvdeb/zstd = %s\n' "$t" raw "$wall" "$cpu" "$rss" "$(stat -c %s "$out/data.tar")" "$ratio"
      rm -f "$out/data.tar" "$out/data.tar.zst"
    fi
  done
  mv "$cache/.done-$t" "$tree/.done"
  echo "($t: $size bytes of files)"
done
rm -f "$out/dpkg.deb" "$out/venvdeb.deb" "$out/time.txt" "$out/stderr.txt"
