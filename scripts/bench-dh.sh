#!/bin/sh
# Benchmark `dpkg-buildpackage -us -uc -b` of the same application packaged
# two ways, from the same wheelhouse, in one run:
#   - `dh $@ --with python-virtualenv` (Debian's dh-virtualenv 1.2: venv +
#     pip install --no-index --require-hashes from the wheelhouse);
#   - `dh $@ --with venvdeb` (dh_venvdeb: verify the signed list, install
#     natively).
# each with dpkg-deb's default xz and with -Zzstd, and print the times (each
# split into dh_venvdeb or dh_virtualenv and the rest of the dh sequence), the
# peak RSS, the ratios (goal: venvdeb >= 2.5x faster with xz, >= 8x with
# zstd) and each package's size.
#
#   scripts/bench-dh.sh [--large] [WHEELHOUSE]
#
# WHEELHOUSE defaults to target/bench/wheelhouse, the 20-wheel set of
# ../shared/bench/ (fetched with its fetch-wheelhouse.sh when missing:
# network). Its lock is ../shared/bench/requirements.txt. With --large, the
# 163-wheel set of ../shared/bench/large-requirements.txt (default
# /var/tmp/venvdeb-bench/wheels-large), the set issue 13 is measured on.
#   RUNS=N   each build N times (default 1), the runs interleaved (dh-virtualenv,
#            venvdeb; again), medians shown;
#   ONLY=zstd or ONLY=xz   only the builds with that compressor (default both;
#            the ratio lines need both). The list is signed
# here with the TEST-ONLY key fixtures/keys/test-key-a in a throwaway
# GNUPGHOME. dh_venvdeb and the addon come from this repository (PATH,
# PERL5LIB) and venvdeb from target/release (or $VENVDEB_BIN).
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
. "$root/scripts/bench-common.sh"
shared=${VENVDEB_SHARED:-$root/../shared}
[ -d "$shared/bench" ] || shared=/work/shared
mkdir -p "$root/target/bench"
if [ "${1:-}" = --large ]; then
  shift
  reqs=$shared/bench/large-requirements.txt
  wh=${1:-/var/tmp/venvdeb-bench/wheels-large}
  want=163
else
  reqs=$shared/bench/requirements.txt
  wh=${1:-$root/target/bench/wheelhouse}
  want=20
fi
if [ ! -d "$wh" ] || [ "$(ls "$wh"/*.whl 2>/dev/null | wc -l)" -lt "$want" ]; then
  sh "$shared/bench/fetch-wheelhouse.sh" "$wh" "$reqs"
fi
runs=${RUNS:-1}
case ${ONLY:-xz,zstd} in
  xz) comps=xz ;;
  zstd) comps=zstd ;;
  xz,zstd | zstd,xz) comps="xz zstd" ;;
  *) echo "bench-dh.sh: ONLY must be xz, zstd or xz,zstd" >&2; exit 2 ;;
esac
wh=$(cd "$wh" && pwd)
if [ -n "${VENVDEB_BIN:-}" ]; then
  bin=$VENVDEB_BIN   # a venvdeb built elsewhere (release profile, please)
else
  cargo build --release --locked --quiet
  bin=$root/target/release/venvdeb
fi

work=$(mktemp -d "$root/target/bench/dh.XXXXXX")
GNUPGHOME=$(mktemp -d)
export GNUPGHOME
trap 'rm -rf "$work" "$GNUPGHOME"' EXIT INT TERM

# Tools from the repository.
mkdir -p "$work/perl5/Debian/Debhelper/Sequence" "$work/bin"
cp debian-templates/debhelper/venvdeb.pm "$work/perl5/Debian/Debhelper/Sequence/"
mkdir -p "$work/real"
cp debian-templates/debhelper/dh_venvdeb debian-templates/debhelper/dh_venvdeb_provenance "$bin" "$work/real/"
cp -r debian-templates/debhelper/autoscripts "$work/real/"
# dh_venvdeb and dh_virtualenv run through timing wrappers (first on PATH):
# each appends its wall seconds to $BENCH_CMD_TIMES, so that the report can
# split a build into that command and the rest of the dh sequence.
wrap() { # NAME REAL
  cat > "$work/bin/$1" <<WRAP
#!/bin/sh
s=\$(date +%s.%N)
"$2" "\$@"
rc=\$?
e=\$(date +%s.%N)
echo "$1 \$s \$e" >> "\$BENCH_CMD_TIMES"
exit \$rc
WRAP
  chmod 755 "$work/bin/$1"
}
wrap dh_venvdeb "$work/real/dh_venvdeb"
wrap dh_virtualenv /usr/bin/dh_virtualenv
cp "$work/real/dh_venvdeb_provenance" "$bin" "$work/bin/"
export PERL5LIB="$work/perl5" PATH="$work/bin:$PATH"
export DEBFULLNAME="Bench" DEBEMAIL=bench@example.org

# The common source: wheelhouse, lock, signed list, keyring, pyproject.
common=$work/common
mkdir -p "$common/wheelhouse"
cp "$wh"/*.whl "$common/wheelhouse/"
cp "$reqs" "$common/requirements.txt"
(cd "$common/wheelhouse" && LC_ALL=C sha256sum -- *.whl) > "$common/sha256sums.txt"
gpg --batch --quiet --import fixtures/keys/test-key-a.secret.asc
gpg --batch --yes --armor --detach-sign -o "$common/sha256sums.txt.asc" "$common/sha256sums.txt"
cp fixtures/keys/test-key-a.public.gpg "$common/keyring.gpg"
printf '[project]\nname = "benchapp"\nversion = "1.0"\ndescription = "venvdeb debhelper benchmark"\nlicense = "MIT"\n' \
  > "$common/pyproject.toml"

# venvdeb: what `venvdeb init` writes.
make_venvdeb() { # DIR ZOPT
  cp -a "$common" "$1"
  (cd "$1" && SOURCE_DATE_EPOCH=1700000000 "$bin" init . --keyring keyring.gpg >/dev/null)
  if [ -n "$2" ]; then
    printf '\noverride_dh_builddeb:\n\tdh_builddeb -- %s\n' "$2" >> "$1/debian/rules"
  fi
}
# dh-virtualenv: the same debian/ with its addon and pip on the wheelhouse.
make_dhv() { # DIR ZOPT
  make_venvdeb "$1" "$2"
  # The directories where the wheels bundle their libraries, which the
  # venvdeb addon gives dh_shlibdeps: dh-virtualenv users must add them
  # themselves (scipy's bundled libgfortran needs its libquadmath).
  libdirs=$(cd "$1" && "$bin" debhelper library-dirs benchapp=debian/venvdeb.toml | paste -sd:)
  rm "$1/debian/venvdeb.toml"
  sed -i 's/\${venvdeb:Depends}/${python3:Depends}/' "$1/debian/control"
  sed -i 's/^\tdh \$@$/\tdh $@ --with python-virtualenv/' "$1/debian/rules"
  grep -q -- '--with python-virtualenv' "$1/debian/rules" || {
    echo "bench-dh.sh: cannot switch $1/debian/rules to dh-virtualenv" >&2; exit 1; }
  sed -i 's/Build-Depends: debhelper-compat (= 13), dh-sequence-venvdeb, python3/Build-Depends: debhelper-compat (= 13), python3, python3-venv, dh-virtualenv/' \
    "$1/debian/control"
  grep -q 'dh-virtualenv' "$1/debian/control" || {
    echo "bench-dh.sh: cannot switch $1/debian/control to dh-virtualenv" >&2; exit 1; }
  cat >> "$1/debian/rules" <<'MAKE'

override_dh_virtualenv:
	dh_virtualenv --python /usr/bin/python3 --builtin-venv --skip-install \
	  --extra-pip-arg=--no-index --extra-pip-arg=--find-links=$(CURDIR)/wheelhouse \
	  --extra-pip-arg=--require-hashes --extra-pip-arg=--no-deps

# dwz aborts on libraries the wheels bundle ("Allocatable section after
# non-allocatable ones" in pillow.libs): skip it, as dh-virtualenv users do.
override_dh_dwz:
MAKE
  if [ -n "$libdirs" ]; then
    printf '\noverride_dh_shlibdeps:\n\tdh_shlibdeps -l%s\n' "$libdirs" >> "$1/debian/rules"
  fi
}

# "secs rss_kb cmd_secs" of one dpkg-buildpackage, from /usr/bin/time -v
# and the wrappers (cmd_secs: dh_venvdeb's or dh_virtualenv's wall time).
measure() { # DIR
  : > "$1.cmd"
  # -d: dh-sequence-venvdeb is this checkout's addon (PERL5LIB), not an
  # installed package.
  (cd "$1" && BENCH_CMD_TIMES="$1.cmd" /usr/bin/time -v -o "$1.time" dpkg-buildpackage -us -uc -b -d > "$1.log" 2>&1) || {
    tail -40 "$1.log" >&2; echo "bench-dh.sh: build in $1 failed" >&2; exit 1; }
  cmd=$(awk '{t += $3 - $2} END {printf "%.2f", t}' "$1.cmd")
  awk -F': ' -v cmd="$cmd" '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; secs=s}
              /Maximum resident set size/ {rss=$2}
              END {printf "%.2f %d %s\n", secs, rss, cmd}' "$1.time"
}
size() { stat -c %s "$(dirname "$1")"/benchapp_*.deb; }

variants=
for c in $comps; do variants="$variants dhv-$c venvdeb-$c"; done
for v in $variants; do
  mkdir -p "$work/$v"
  z=; case $v in *zstd) z=-Zzstd ;; esac
  case $v in dhv-*) make_dhv "$work/$v/src" "$z" ;; *) make_venvdeb "$work/$v/src" "$z" ;; esac
done

# The runs are interleaved (each variant once, then again), so that a drift
# of the machine weighs on both sides of each ratio. Each run's wheels are
# read once first, and it starts with no dirty pages of an earlier one.
: > "$work/all-runs.txt"
i=1
while [ "$i" -le "$runs" ]; do
  for v in $variants; do
    cat "$work/$v/src/wheelhouse"/*.whl > /dev/null
    sync
    measure "$work/$v/src" >> "$work/$v.runs"
    size "$work/$v/src" > "$work/$v.size"
    rm -f "$work/$v"/benchapp_*
    echo "  $v, run $i: $(tail -n 1 "$work/$v.runs") (wall s, peak RSS KB, dh command s)" >> "$work/all-runs.txt"
  done
  i=$((i + 1))
done
# "median_wall median_rss median_cmd" of a variant's runs.
medians() { column_medians "$work/$1.runs"; }

echo "bench-dh: $(ls "$common"/wheelhouse/*.whl | wc -l) wheels, $(nproc) CPUs, median of $runs run(s), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "every run:"
cat "$work/all-runs.txt"
row() { # LABEL TOTAL RSS SIZE CMD CMDNAME
  rest=$(awk -v t="$2" -v c="$5" 'BEGIN {printf "%.2f", t - c}')
  printf '%-26s %7s s = %-14s %6s s + rest of dh %6s s  %8s KB  %10s bytes\n' \
    "$1" "$2" "$6" "$5" "$rest" "$3" "$4"
}
for c in $comps; do
  set -- $(medians dhv-$c); eval "dhv_$c=\$1 dhv_${c}_cmd=\$3"
  row "dh-virtualenv, $c" "$1" "$2" "$(cat "$work/dhv-$c.size")" "$3" dh_virtualenv
  set -- $(medians venvdeb-$c); eval "vd_$c=\$1 vd_${c}_cmd=\$3"
  row "dh --with venvdeb, $c" "$1" "$2" "$(cat "$work/venvdeb-$c.size")" "$3" dh_venvdeb
done
for c in $comps; do
  eval "a=\$dhv_${c}_cmd b=\$vd_${c}_cmd t=\$vd_$c d=\$dhv_$c"
  awk -v a="$a" -v b="$b" -v c="$c" 'BEGIN {printf "dh_venvdeb / dh_virtualenv (%s): %.3fx\n", c, b/a}'
  awk -v t="$t" -v b="$b" -v c="$c" 'BEGIN {printf "dh_venvdeb share of its dpkg-buildpackage (%s): %.0f%%\n", c, 100*b/t}'
  goal=">= 2.5x"; [ "$c" = zstd ] && goal=">= 8x"
  awk -v a="$d" -v b="$t" -v c="$c" -v g="$goal" 'BEGIN {printf "speed-up with %s: %.2fx  (goal %s)\n", c, a/b, g}'
done
