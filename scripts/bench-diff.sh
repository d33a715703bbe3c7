#!/bin/sh
# Benchmark `venvdeb diff` against diffoscope on two real packages that
# differ in one file: a venv-like tree made of the 20 benchmark wheels
# (../shared/bench), packed twice by dpkg-deb -Zxz, one .py file changed in
# the second. Prints, from one run: wall time and peak RSS of each tool, the
# ratio, and what each reports.
# Usage: scripts/bench-diff.sh   (env: VENVDEB_BENCH_CACHE, VENVDEB_SHARED)
set -eu
cd "$(dirname "$0")/.."
repo=$(pwd)
shared=${VENVDEB_SHARED:-$repo/../shared}
cache=${VENVDEB_BENCH_CACHE:-/var/tmp/venvdeb-bench}
wheels=$cache/wheels
command -v diffoscope >/dev/null || { echo "diffoscope missing: apt-get install -y --no-install-recommends diffoscope-minimal" >&2; exit 2; }
if [ "$(ls "$wheels"/*.whl 2>/dev/null | wc -l)" -lt 20 ]; then
  sh "$shared/bench/fetch-wheelhouse.sh" "$wheels"
fi
cargo build --release --locked -q
venvdeb=$repo/target/release/venvdeb
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The two packages are kept in the cache (building them with -Zxz is the
# slow part): delete $cache/diff-bench to rebuild.
debs=$cache/diff-bench
if [ ! -f "$debs/b.deb" ]; then
mkdir -p "$debs"
tree=$work/tree
site=$tree/opt/venvs/bench/lib/python3.11/site-packages
mkdir -p "$tree/DEBIAN" "$site"
for w in "$wheels"/*.whl; do unzip -q -o "$w" -d "$site"; done
find "$tree" -type d -exec chmod 0755 {} +
find "$tree" -type f -exec chmod 0644 {} +
cat > "$tree/DEBIAN/control" <<CONTROL
Package: bench-venv
Version: 1.0-1
Architecture: amd64
Maintainer: Bench <bench@example.org>
Description: benchmark venv made of the 20 benchmark wheels
CONTROL
export SOURCE_DATE_EPOCH=1700000000
dpkg-deb --root-owner-group -Zxz --build "$tree" "$debs/a.deb.tmp" >/dev/null
changed=$(cd "$tree" && find . -path '*/requests/api.py' | head -1)
printf '\n# one changed line\n' >> "$tree/$changed"
dpkg-deb --root-owner-group -Zxz --build "$tree" "$debs/b.deb.tmp" >/dev/null
du -sk "$tree/opt" | cut -f1 > "$debs/installed-kib"
echo "$changed" > "$debs/changed"
mv "$debs/a.deb.tmp" "$debs/a.deb"
mv "$debs/b.deb.tmp" "$debs/b.deb"
rm -rf "$tree"
fi
cp "$debs/a.deb" "$debs/b.deb" "$work/"
entries=$(dpkg-deb -c "$work/a.deb" | wc -l)
echo "packages: $(stat -c %s "$work/a.deb") and $(stat -c %s "$work/b.deb") bytes (-Zxz), $entries entries, installed $(cat "$debs/installed-kib") KiB; changed: $(cat "$debs/changed")"

t() { # t NAME CMD...: run, record wall seconds and peak RSS
  name=$1; shift
  /usr/bin/time -f "%e %M %U %S" -o "$work/$name.time" "$@" > "$work/$name.out" 2> "$work/$name.err" || echo $? > "$work/$name.rc"
  [ -f "$work/$name.rc" ] || echo 0 > "$work/$name.rc"
  # (time writes "Command exited with non-zero status N" first when N != 0)
  tail -1 "$work/$name.time" > "$work/$name.t"
  mv "$work/$name.t" "$work/$name.time"
  read -r secs kb usr sys < "$work/$name.time"
  echo "$name: ${secs} s wall, ${usr} s user + ${sys} s sys CPU, peak RSS $((kb / 1024)) MiB, exit $(cat "$work/$name.rc")"
}
t venvdeb-diff "$venvdeb" diff "$work/a.deb" "$work/b.deb"
t venvdeb-diff-content "$venvdeb" diff --content "$work/a.deb" "$work/b.deb"
t diffoscope diffoscope --no-progress --text "$work/diffoscope.txt" "$work/a.deb" "$work/b.deb"
v=$(cut -d' ' -f1 "$work/venvdeb-diff.time")
d=$(cut -d' ' -f1 "$work/diffoscope.time")
vc=$(cut -d' ' -f3 "$work/venvdeb-diff.time")
dc=$(cut -d' ' -f3 "$work/diffoscope.time")
echo "ratio: venvdeb diff / diffoscope = $(/usr/bin/python3 -c "print(round($v/$d,3))") wall, $(/usr/bin/python3 -c "print(round($vc/$dc,3))") user CPU"
echo
echo "=== venvdeb diff --content report ($(wc -l < "$work/venvdeb-diff-content.out") lines) ==="
cat "$work/venvdeb-diff-content.out"
echo
echo "=== diffoscope report ($(wc -l < "$work/diffoscope.txt") lines; first 60) ==="
head -60 "$work/diffoscope.txt"

echo
echo "=== memory on a 1 GiB package: one 1 GiB file plus one small file that differs (-Zzstd) ==="
big=$work/big
mkdir -p "$big/t/DEBIAN" "$big/t/usr/share/big"
printf 'Package: big\nVersion: 1\nArchitecture: all\nMaintainer: B <b@example.org>\nDescription: big\n' > "$big/t/DEBIAN/control"
head -c 1073741824 /dev/zero > "$big/t/usr/share/big/zeros"
echo a > "$big/t/usr/share/big/small"
dpkg-deb --root-owner-group -Zzstd --build "$big/t" "$big/a.deb" >/dev/null
echo b > "$big/t/usr/share/big/small"
dpkg-deb --root-owner-group -Zzstd --build "$big/t" "$big/b.deb" >/dev/null
rm -rf "$big/t"
t venvdeb-diff-1GiB "$venvdeb" diff "$big/a.deb" "$big/b.deb"
