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
#   scripts/bench-dh.sh [WHEELHOUSE]
#
# WHEELHOUSE defaults to target/bench/wheelhouse, the 20-wheel set of
# ../shared/bench/ (fetched with its fetch-wheelhouse.sh when missing:
# network). Its lock is ../shared/bench/requirements.txt; the list is signed
# here with the TEST-ONLY key fixtures/keys/test-key-a in a throwaway
# GNUPGHOME. dh_venvdeb and the addon come from this repository (PATH,
# PERL5LIB) and venvdeb from target/release (or $VENVDEB_BIN).
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
shared=${VENVDEB_SHARED:-$root/../shared}
[ -d "$shared/bench" ] || shared=/work/shared
mkdir -p "$root/target/bench"
wh=${1:-$root/target/bench/wheelhouse}
if [ ! -d "$wh" ] || [ "$(ls "$wh"/*.whl 2>/dev/null | wc -l)" -lt 20 ]; then
  sh "$shared/bench/fetch-wheelhouse.sh" "$wh" "$shared/bench/requirements.txt"
fi
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
cp "$shared/bench/requirements.txt" "$common/requirements.txt"
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

for v in dhv-xz venvdeb-xz dhv-zstd venvdeb-zstd; do
  mkdir -p "$work/$v"
  z=; case $v in *zstd) z=-Zzstd ;; esac
  case $v in dhv-*) make_dhv "$work/$v/src" "$z" ;; *) make_venvdeb "$work/$v/src" "$z" ;; esac
done

sync
set -- $(measure "$work/dhv-xz/src"); dhv_xz=$1 dhv_xz_rss=$2 dhv_xz_cmd=$3
set -- $(measure "$work/venvdeb-xz/src"); vd_xz=$1 vd_xz_rss=$2 vd_xz_cmd=$3
set -- $(measure "$work/dhv-zstd/src"); dhv_zstd=$1 dhv_zstd_rss=$2 dhv_zstd_cmd=$3
set -- $(measure "$work/venvdeb-zstd/src"); vd_zstd=$1 vd_zstd_rss=$2 vd_zstd_cmd=$3

echo "bench-dh: $(ls "$common"/wheelhouse/*.whl | wc -l) wheels, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
row() { # LABEL TOTAL RSS SIZE CMD CMDNAME
  rest=$(awk -v t="$2" -v c="$5" 'BEGIN {printf "%.2f", t - c}')
  printf '%-26s %7s s = %-14s %6s s + rest of dh %6s s  %8s KB  %10s bytes\n' \
    "$1" "$2" "$6" "$5" "$rest" "$3" "$4"
}
row "dh-virtualenv, xz" "$dhv_xz" "$dhv_xz_rss" "$(size "$work/dhv-xz/src")" "$dhv_xz_cmd" dh_virtualenv
row "dh --with venvdeb, xz" "$vd_xz" "$vd_xz_rss" "$(size "$work/venvdeb-xz/src")" "$vd_xz_cmd" dh_venvdeb
row "dh-virtualenv, zstd" "$dhv_zstd" "$dhv_zstd_rss" "$(size "$work/dhv-zstd/src")" "$dhv_zstd_cmd" dh_virtualenv
row "dh --with venvdeb, zstd" "$vd_zstd" "$vd_zstd_rss" "$(size "$work/venvdeb-zstd/src")" "$vd_zstd_cmd" dh_venvdeb
awk -v a="$dhv_zstd_cmd" -v b="$vd_zstd_cmd" 'BEGIN {printf "dh_venvdeb / dh_virtualenv (zstd run): %.3fx\n", b/a}'
awk -v t="$vd_zstd" -v c="$vd_zstd_cmd" 'BEGIN {printf "dh_venvdeb share of its dpkg-buildpackage (zstd): %.0f%%\n", 100*c/t}'
awk -v a="$dhv_xz" -v b="$vd_xz" 'BEGIN {printf "speed-up with xz:   %.2fx  (goal >= 2.5x)\n", a/b}'
awk -v a="$dhv_zstd" -v b="$vd_zstd" 'BEGIN {printf "speed-up with zstd: %.2fx  (goal >= 8x)\n", a/b}'
