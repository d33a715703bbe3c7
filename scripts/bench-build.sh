#!/bin/sh
# Benchmark `venvdeb build` on the 20-wheel set from ../shared/bench/, in one
# run, and print:
#   - build time (xz) / time of `xz -6 -T2` alone on the package's own
#     data.tar (goal <= 1.2);
#   - build time (-Z zstd) / `python3 -m venv` + `pip install --no-deps
#     --require-hashes` of the same wheels (goal < 0.5);
#   - peak RSS of each (/usr/bin/time -v).
# The bench inputs are unsigned: the script writes sha256sums.txt and signs it
# with the TEST-ONLY key fixtures/keys/test-key-a in a throwaway GNUPGHOME.
# Usage: scripts/bench-build.sh [WHEELHOUSE]  (default: target/bench/wheelhouse,
# fetched with ../shared/bench/fetch-wheelhouse.sh when missing: network).
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
shared=${VENVDEB_SHARED:-$root/../shared}
[ -d "$shared/bench" ] || shared=/work/shared
bench=$root/target/bench
wh=${1:-$bench/wheelhouse}
if [ ! -d "$wh" ] || [ "$(ls "$wh"/*.whl 2>/dev/null | wc -l)" -lt 20 ]; then
  sh "$shared/bench/fetch-wheelhouse.sh" "$wh" "$shared/bench/requirements.txt"
fi
cargo build --release --locked --quiet
bin=$root/target/release/venvdeb
work=$(mktemp -d "$bench/run.XXXXXX")
trap 'rm -rf "$work"; [ -n "${GNUPGHOME:-}" ] && rm -rf "$GNUPGHOME"' EXIT

# Inputs: config, lock, signed list, keyring.
app=$work/app
mkdir -p "$app"
ln -s "$(cd "$wh" && pwd)" "$app/wheelhouse"
cp "$shared/bench/requirements.txt" "$app/requirements.txt"
(cd "$app/wheelhouse" && LC_ALL=C sha256sum -- *.whl) > "$app/sha256sums.txt"
GNUPGHOME=$(mktemp -d)
export GNUPGHOME
gpg --batch --quiet --import fixtures/keys/test-key-a.secret.asc
gpg --batch --yes --armor --detach-sign -o "$app/sha256sums.txt.asc" "$app/sha256sums.txt"
cp fixtures/keys/test-key-a.public.gpg "$app/keyring.gpg"
cat > "$app/venvdeb.toml" <<TOML
[package]
name = "benchapp"
version = "1.0-1"
maintainer = "Bench <bench@example.org>"
description = "venvdeb benchmark: 20 wheels"

[inputs]
wheelhouse = "wheelhouse"
lock = "requirements.txt"
sums = "sha256sums.txt"
signature = "sha256sums.txt.asc"
keyring = "keyring.gpg"
TOML
export SOURCE_DATE_EPOCH=1700000000

# "wall_secs cpu_secs rss_kb" of a command (cpu = user + sys), from
# /usr/bin/time -v.
measure() {
  /usr/bin/time -v -o "$work/time.txt" "$@" > "$work/out.txt" 2> "$work/err.txt" || {
    cat "$work/err.txt" >&2; exit 1; }
  awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; secs=s}
              /User time \(seconds\)/ {u=$2} /System time \(seconds\)/ {y=$2}
              /Maximum resident set size/ {rss=$2}
              END {printf "%.3f %.3f %d\n", secs, u+y, rss}' "$work/time.txt"
}

sync
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
set -- $(measure "$bin" build --config "$app/venvdeb.toml" --output-dir "$work/xz")
build_xz=$1 cpu_xz=$2 rss_xz=$3
deb=$(ls "$work"/xz/*.deb)
(cd "$work" && ar x "$deb" data.tar.xz && xz -d data.tar.xz)
set -- $(measure sh -c "xz -6 -T2 --block-size=25165824 -c '$work/data.tar' > /dev/null")
xz_alone=$1 cpu_xzalone=$2 rss_xzalone=$3
set -- $(measure "$bin" build -Z zstd --config "$app/venvdeb.toml" --output-dir "$work/zstd")
build_zstd=$1 cpu_zstd=$2 rss_zstd=$3
set -- $(measure sh -c "/usr/bin/python3 -m venv --without-pip '$work/pipvenv' && \
  PIP_FIND_LINKS= /usr/bin/python3 -m pip --python '$work/pipvenv/bin/python' install --quiet \
  --no-index --no-deps --require-hashes --find-links '$app/wheelhouse' -r '$app/requirements.txt'")
pip=$1 cpu_pip=$2 rss_pip=$3

tar_mb=$(du -m "$work/data.tar" | cut -f1)
echo "benchmark: $(ls "$app"/wheelhouse/*.whl | wc -l) wheels, data.tar ${tar_mb} MB, $(nproc) CPUs;" \
  "load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-42s %9s %9s %10s\n' "" "wall s" "cpu s" "peak RSS"
printf '%-42s %9s %9s %7s KB\n' "venvdeb build (xz)" "$build_xz" "$cpu_xz" "$rss_xz"
printf '%-42s %9s %9s %7s KB\n' "xz -6 -T2 on its data.tar alone" "$xz_alone" "$cpu_xzalone" "$rss_xzalone"
printf '%-42s %9s %9s %7s KB\n' "venvdeb build -Z zstd" "$build_zstd" "$cpu_zstd" "$rss_zstd"
printf '%-42s %9s %9s %7s KB\n' "python3 -m venv + pip install --no-deps" "$pip" "$cpu_pip" "$rss_pip"
awk -v a="$build_xz" -v b="$xz_alone" -v c="$cpu_xz" -v d="$cpu_xzalone" \
  'BEGIN {printf "ratio build(xz) / xz alone:    wall %.2f, cpu %.2f  (goal <= 1.2)\n", a/b, c/d}'
awk -v a="$build_zstd" -v b="$pip" -v c="$cpu_zstd" -v d="$cpu_pip" \
  'BEGIN {printf "ratio build(zstd) / venv+pip:  wall %.2f, cpu %.2f  (goal < 0.5)\n", a/b, c/d}'
