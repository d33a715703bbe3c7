#!/bin/sh
# A/B timing of venvdeb binaries on one configuration: `venvdeb build -Z
# zstd`, the binaries' runs alternating (A B A B ...) so that a drift of the
# machine's speed (common on shared 2-CPU machines) hits each alike.
# Prints, per run: the binary, the "deb" phase's wall and CPU seconds
# (VENVDEB_TIMINGS=1), the whole run's wall, user and system seconds, and
# the first 16 hex digits of the .deb's sha256 (the binaries must agree);
# then each binary's mean "deb" wall and mean total wall.
# Usage: scripts/bench-ab.sh N CONFIG BIN_A BIN_B [BIN ...]
#   SOURCE_DATE_EPOCH defaults to 1700000000.
set -eu
[ $# -ge 4 ] || { echo "usage: $0 N CONFIG BIN_A BIN_B [BIN ...]" >&2; exit 2; }
n=$1 config=$2
shift 2
work=$(mktemp -d "${TMPDIR:-/tmp}/venvdeb-ab.XXXXXX")
trap 'rm -rf "$work"' EXIT
: > "$work/runs"
i=0
while [ "$i" -lt "$n" ]; do
  k=0
  for b in "$@"; do
    k=$((k + 1))
    rm -rf "$work/out" && mkdir "$work/out"
    SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000} VENVDEB_TIMINGS=1 \
      /usr/bin/time -f "TOTAL %e %U %S" "$b" build -Z zstd --config "$config" \
      --output-dir "$work/out" > "$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
    deb=$(sed -n 's/.*timing: deb: \([0-9.]*\) s wall, \([0-9.]*\) s cpu.*/\1 \2/p' "$work/log")
    total=$(sed -n 's/^TOTAL //p' "$work/log")
    sum=$(sha256sum "$work"/out/*.deb | cut -c1-16)
    echo "$k $deb $total $sum" >> "$work/runs"
    echo "$b: deb $deb, total $total, sha256 $sum..."
  done
  i=$((i + 1))
done
k=0
for b in "$@"; do
  k=$((k + 1))
  awk -v k="$k" -v b="$b" '$1 == k {d += $2; t += $4; c++}
    END {printf "%s: mean of %d: deb %.3f s wall, total %.3f s wall\n", b, c, d / c, t / c}' "$work/runs"
done
[ "$(cut -d' ' -f7 "$work/runs" | sort -u | wc -l)" = 1 ] ||
  { echo "bench-ab: the binaries wrote different .debs" >&2; exit 1; }
