#!/bin/sh
# Benchmark `venvdeb build` on the 20-wheel set from ../shared/bench/, in one
# run, and print:
#   - build time (xz) / time of `xz -6 -T2` alone on the package's own
#     data.tar (goal <= 1.2);
#   - build time (-Z zstd) / `python3 -m venv` + `pip install --no-deps
#     --require-hashes` of the same wheels (goal < 0.5);
#   - peak RSS of each (/usr/bin/time -v).
# With --large, on ../shared/bench/large-requirements.txt (163 wheels, ~440 MB;
# default wheelhouse /var/tmp/venvdeb-bench/wheels-large), the figures issue 13
# asks for, from one run (each command RUNS times, default 1, the runs
# interleaved, median shown):
#   - the phase times of each build (VENVDEB_TIMINGS=1);
#   - build (-Z zstd) / `pip install --no-deps --no-compile --require-hashes`
#     into a `python3 -m venv --without-pip` venv (/usr/bin/python3; goal <= 0.35);
#   - build (xz) / `dpkg-deb --root-owner-group -Zxz --build` of the package's
#     own extracted tree (goal <= 1.05);
#   - peak RSS of each (and, in the phase lines, the build's peak RSS so far),
#     and how the builds' peaks grow from the 20-wheel set (SMALL=DIR) to
#     the large one.
#   - the zstd floor, on the same tree: `dpkg-deb --root-owner-group -Zzstd
#     --build` (dpkgz), and the work a -Z zstd build cannot skip, each alone
#     (floor): `venvdeb verify` (every wheel inflated and each entry checked
#     against RECORD), `openssl md5` of the data.tar (md5sums) and `zstd -3
#     -T<CPUs>` of it (the compressor); their CPU seconds over the CPUs is
#     the least wall time any build of the package can take here, printed
#     as a fraction of pip's.
#   ONLY=zstd,pip,xz,dpkg,dpkgz,floor (any subset, comma-separated; default
#   all) runs only those measurements, to fit the time left: a ratio is
#   printed when both of its sides ran (dpkg-deb and the floor need a
#   venvdeb .deb to extract: one -Z zstd build made unmeasured).
# The bench inputs are unsigned: the script writes sha256sums.txt and signs it
# with the TEST-ONLY key fixtures/keys/test-key-a in a throwaway GNUPGHOME.
# Usage: scripts/bench-build.sh [--large] [WHEELHOUSE]  (default:
# target/bench/wheelhouse, or /var/tmp/venvdeb-bench/wheels-large with --large,
# fetched with ../shared/bench/fetch-wheelhouse.sh when missing: network).
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
. "$root/scripts/bench-common.sh"
shared=${VENVDEB_SHARED:-$root/../shared}
[ -d "$shared/bench" ] || shared=/work/shared
bench=$root/target/bench
large=
if [ "${1:-}" = --large ]; then
  large=1
  shift
fi
if [ -n "$large" ]; then
  reqs=$shared/bench/large-requirements.txt
  wh=${1:-/var/tmp/venvdeb-bench/wheels-large}
  want=163
else
  reqs=$shared/bench/requirements.txt
  wh=${1:-$bench/wheelhouse}
  want=20
fi
if [ ! -d "$wh" ] || [ "$(ls "$wh"/*.whl 2>/dev/null | wc -l)" -lt "$want" ]; then
  sh "$shared/bench/fetch-wheelhouse.sh" "$wh" "$reqs"
fi
mkdir -p "$bench"
cargo build --release --locked --quiet
bin=$root/target/release/venvdeb
work=$(mktemp -d "$bench/run.XXXXXX")
trap 'rm -rf "$work"; [ -n "${GNUPGHOME:-}" ] && rm -rf "$GNUPGHOME"' EXIT

# Inputs: config, lock, signed list, keyring.
GNUPGHOME=$(mktemp -d)
export GNUPGHOME
gpg --batch --quiet --import fixtures/keys/test-key-a.secret.asc
# make_app DIR WHEELHOUSE REQUIREMENTS: config, lock, signed list, keyring.
make_app() {
  mkdir -p "$1"
  ln -s "$(cd "$2" && pwd)" "$1/wheelhouse"
  cp "$3" "$1/requirements.txt"
  (cd "$1/wheelhouse" && LC_ALL=C sha256sum -- *.whl) > "$1/sha256sums.txt"
  gpg --batch --yes --armor --detach-sign -o "$1/sha256sums.txt.asc" "$1/sha256sums.txt"
  cp fixtures/keys/test-key-a.public.gpg "$1/keyring.gpg"
  cat > "$1/venvdeb.toml" <<TOML
[package]
name = "benchapp"
version = "1.0-1"
maintainer = "Bench <bench@example.org>"
description = "venvdeb benchmark: $(ls "$1"/wheelhouse/*.whl | wc -l) wheels"

[inputs]
wheelhouse = "wheelhouse"
lock = "requirements.txt"
sums = "sha256sums.txt"
signature = "sha256sums.txt.asc"
keyring = "keyring.gpg"
TOML
}
app=$work/app
make_app "$app" "$wh" "$reqs"
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

# A table row (label, wall, cpu, rss) and a ratio line (label, wall a, wall
# b, cpu a, cpu b, goal).
header() { printf '%-52s %9s %9s %10s\n' "" "wall s" "cpu s" "peak RSS"; }
row() { printf '%-52s %9s %9s %7s KB\n' "$@"; }
ratio() {
  awk -v l="$1" -v a="$2" -v b="$3" -v c="$4" -v d="$5" -v g="$6" \
    'BEGIN {printf "ratio %-32s wall %.2f, cpu %.2f  (goal %s)\n", l ":", a/b, c/d, g}'
}

if [ -n "$large" ]; then
  runs=${RUNS:-1}
  # One measured run of a command, appended to $work/runs.<name>.txt (its
  # stderr kept as $work/<name>.<i>.err for the phase times).
  # Each run's inputs are read once first (WARM: files to cat): the
  # machine's proactive reclaim evicts the wheels during the long xz runs,
  # and a cold read would be charged to whichever command runs next.
  run_once() {
    name=$1
    shift
    if [ -n "${WARM:-}" ]; then
      find "$WARM" -type f -exec cat {} + > /dev/null
    fi
    # Every run starts with no dirty pages of an earlier one to write back.
    sync
    measure "$@" >> "$work/runs.$name.txt"
    n=$(wc -l < "$work/runs.$name.txt")
    cp "$work/err.txt" "$work/$name.$n.err"
    echo "$name: $(tail -n 1 "$work/runs.$name.txt")" >> "$work/all-runs.txt"
  }
  # "median_wall median_cpu median_rss" of the runs of $1.
  medians() { column_medians "$work/runs.$1.txt"; }
  : > "$work/all-runs.txt"
  all=zstd,pip,xz,dpkg,dpkgz,floor
  only=",${ONLY:-$all},"
  want() { case "$only" in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
  if want dpkg || want dpkgz || want floor; then
    # dpkg-deb's input: the tree of a venvdeb .deb (an unmeasured -Z zstd
    # build; the same tree as the xz build's). The floor's: its data.tar.
    "$bin" build -Z zstd --config "$app/venvdeb.toml" --output-dir "$work/prep" > /dev/null
    prep=$(ls "$work"/prep/*.deb)
    if want dpkg || want dpkgz; then
      dpkg-deb -R "$prep" "$work/tree"
    fi
    if want floor; then
      dpkg-deb --fsys-tarfile "$prep" > "$work/data.tar"
    fi
    rm -rf "$work/prep"
  fi
  # The 20-wheel set too, for how the peaks grow (SMALL=DIR, default
  # target/bench/wheelhouse or /var/tmp/venvdeb-bench/wheels-20; skipped
  # when it is not there: no fetching here).
  small=${SMALL:-$bench/wheelhouse}
  [ -d "$small" ] || small=/var/tmp/venvdeb-bench/wheels-20
  if [ "$(ls "$small"/*.whl 2>/dev/null | wc -l)" -ge 20 ]; then
    make_app "$work/small" "$small" "$shared/bench/requirements.txt"
  else
    small=
  fi
  sync
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  # The runs are interleaved (zstd, pip, xz, dpkg-deb; again), so that a
  # drift of the machine over the run weighs on both sides of each ratio.
  i=1
  while [ "$i" -le "$runs" ]; do
    WARM="$wh/"
    if want zstd; then
      rm -rf "$work/zstd"
      run_once zstd env VENVDEB_TIMINGS=1 "$bin" build -Z zstd --config "$app/venvdeb.toml" \
        --output-dir "$work/zstd"
    fi
    if want pip; then
      # Each run's venv is kept until the end: ext4 skips inodes freed in
      # the last minutes when it allocates new ones, so a pip run made
      # just after the 48k files of the previous one were deleted gets
      # slower run after run (36, 47, 54 s here, against 16-22 s on a
      # settled filesystem).
      run_once pip sh -c "/usr/bin/python3 -m venv --without-pip '$work/pipvenv.$i' && \
        PIP_FIND_LINKS= PIP_CONFIG_FILE=/dev/null /usr/bin/python3 -m pip --python '$work/pipvenv.$i/bin/python' \
        install --quiet --no-index --no-deps --no-compile --require-hashes \
        --find-links '$app/wheelhouse' -r '$app/requirements.txt'"
    fi
    if want xz; then
      rm -rf "$work/xz"
      run_once xz env VENVDEB_TIMINGS=1 "$bin" build --config "$app/venvdeb.toml" --output-dir "$work/xz"
    fi
    if [ -n "$small" ]; then
      WARM="$small/"
      for c in zstd xz; do
        want $c || continue
        rm -rf "$work/small-out"
        run_once small-$c "$bin" build -Z $c --config "$work/small/venvdeb.toml" \
          --output-dir "$work/small-out"
      done
    fi
    if want dpkg; then
      WARM="$work/tree"
      rm -f "$work/dpkg.deb"
      run_once dpkg env SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH \
        dpkg-deb --root-owner-group -Zxz --build "$work/tree" "$work/dpkg.deb"
    fi
    if want dpkgz; then
      WARM="$work/tree"
      rm -f "$work/dpkgz.deb"
      run_once dpkgz env SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH \
        dpkg-deb --root-owner-group -Zzstd --build "$work/tree" "$work/dpkgz.deb"
      rm -f "$work/dpkgz.deb"
    fi
    if want floor; then
      WARM="$wh/"
      run_once floor-verify "$bin" verify --config "$app/venvdeb.toml"
      WARM="$work/data.tar"
      run_once floor-md5 openssl md5 "$work/data.tar"
      run_once floor-zstd sh -c "zstd -q -3 -T$(nproc) -c '$work/data.tar' > /dev/null"
    fi
    i=$((i + 1))
  done
  want zstd && { set -- $(medians zstd); build_zstd=$1 cpu_zstd=$2 rss_zstd=$3; }
  want pip && { set -- $(medians pip); pip=$1 cpu_pip=$2 rss_pip=$3; }
  want xz && { set -- $(medians xz); build_xz=$1 cpu_xz=$2 rss_xz=$3; }
  same="not compared (no xz build)"
  if want dpkg; then
    set -- $(medians dpkg)
    dpkg=$1 cpu_dpkg=$2 rss_dpkg=$3
    if want xz; then
      same=differ
      cmp -s "$(ls "$work"/xz/*.deb)" "$work/dpkg.deb" && same=identical
    fi
  fi
  if want dpkg || want dpkgz; then
    size="$(du -sm "$work/tree" | cut -f1) MB and $(find "$work/tree" -type f | wc -l) files installed"
  else
    size="tree not extracted"
  fi
  echo "benchmark (large): $(ls "$app"/wheelhouse/*.whl | wc -l) wheels, $size, $(nproc) CPUs," \
    "median of $runs run(s) of: ${ONLY:-$all};" \
    "load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "venvdeb's .deb (xz) and dpkg-deb's from the extracted tree: $same"
  for n in zstd xz; do
    want $n || continue
    echo "phase times, venvdeb build ($n), run 1:"
    sed -n 's/^venvdeb: timing: /  /p' "$work/$n.1.err"
  done
  echo "every run (wall s, cpu s, peak RSS KB):"
  sed 's/^/  /' "$work/all-runs.txt"
  header
  want zstd && row "venvdeb build -Z zstd" "$build_zstd" "$cpu_zstd" "$rss_zstd"
  want pip && row "venv --without-pip + pip install --no-compile" "$pip" "$cpu_pip" "$rss_pip"
  want xz && row "venvdeb build (xz)" "$build_xz" "$cpu_xz" "$rss_xz"
  want dpkg && row "dpkg-deb --root-owner-group -Zxz on its tree" "$dpkg" "$cpu_dpkg" "$rss_dpkg"
  if want dpkgz; then
    set -- $(medians dpkgz)
    dpkgz=$1 cpu_dpkgz=$2
    row "dpkg-deb --root-owner-group -Zzstd on its tree" "$1" "$2" "$3"
  fi
  if want floor; then
    floor_cpu=0
    for f in verify md5 zstd; do
      set -- $(medians floor-$f)
      row "floor: $(echo "$f" | sed 's/verify/venvdeb verify (inflate + RECORD)/; s/md5/openssl md5 of data.tar/; s/zstd/zstd -3 -T'"$(nproc)"' of data.tar/')" "$1" "$2" "$3"
      floor_cpu=$(awk -v a="$floor_cpu" -v b="$2" 'BEGIN {print a + b}')
    done
    floor_wall=$(awk -v c="$floor_cpu" -v n="$(nproc)" 'BEGIN {printf "%.3f", c / n}')
    echo "floor of a -Z zstd build: $floor_cpu cpu s over $(nproc) CPUs = $floor_wall s wall at best"
  fi
  if want zstd && want pip; then
    ratio "build(zstd) / pip install" "$build_zstd" "$pip" "$cpu_zstd" "$cpu_pip" "<= 0.35"
  fi
  if want dpkgz && want pip; then
    ratio "dpkg-deb -Zzstd alone / pip" "$dpkgz" "$pip" "$cpu_dpkgz" "$cpu_pip" "floor, for comparison"
  fi
  if want floor && want pip; then
    awk -v a="$floor_wall" -v b="$pip" \
      'BEGIN {printf "ratio %-32s wall %.2f  (the least any -Z zstd build can reach here)\n", "floor / pip install:", a/b}'
  fi
  if want zstd && want dpkgz; then
    ratio "build(zstd) / dpkg-deb -Zzstd" "$build_zstd" "$dpkgz" "$cpu_zstd" "$cpu_dpkgz" "none set"
  fi
  if want xz && want dpkg; then
    ratio "build(xz) / dpkg-deb -Zxz" "$build_xz" "$dpkg" "$cpu_xz" "$cpu_dpkg" "<= 1.05"
    awk -v a="$rss_xz" -v b="$rss_dpkg" \
      'BEGIN {printf "peak RSS build(xz) / dpkg-deb:     %.2f  (goal <= 1.1)\n", a/b}'
  fi
  if want zstd; then
    awk -v a="$rss_zstd" 'BEGIN {printf "peak RSS build(zstd): %d MB (goal < 200)\n", a/1024}'
  fi
  if [ -n "$small" ]; then
    for c in zstd xz; do
      want $c || continue
      set -- $(medians small-$c)
      eval "big=\$rss_$c"
      awk -v c="$c" -v a="$big" -v b="$3" 'BEGIN {printf "peak RSS build(%s), large / 20-wheel set: %d / %d KB = %+.0f %% (goal within 25 %%)\n", c, a, b, (a/b-1)*100}'
    done
  fi
  exit 0
fi

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
header
row "venvdeb build (xz)" "$build_xz" "$cpu_xz" "$rss_xz"
row "xz -6 -T2 on its data.tar alone" "$xz_alone" "$cpu_xzalone" "$rss_xzalone"
row "venvdeb build -Z zstd" "$build_zstd" "$cpu_zstd" "$rss_zstd"
row "python3 -m venv + pip install --no-deps" "$pip" "$cpu_pip" "$rss_pip"
ratio "build(xz) / xz alone" "$build_xz" "$xz_alone" "$cpu_xz" "$cpu_xzalone" "<= 1.2"
ratio "build(zstd) / venv+pip" "$build_zstd" "$pip" "$cpu_zstd" "$cpu_pip" "< 0.5"
