#!/bin/sh
# Benchmark `dpkg-buildpackage -us -uc -b` of the same application packaged
# two ways, from the same wheelhouse, in one run:
#   - `dh $@ --with python-virtualenv` (Debian's dh-virtualenv 1.2: venv +
#     pip install --no-index --require-hashes from the wheelhouse);
#   - `dh $@ --with venvdeb` (dh_venvdeb: verify the signed list, install
#     natively).
# each with dpkg-deb's default xz and with -Zzstd, and print the times, the
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
cp debian-templates/debhelper/dh_venvdeb debian-templates/debhelper/dh_venvdeb_provenance "$bin" "$work/bin/"
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
  sed -i 's/--with venvdeb/--with python-virtualenv/' "$1/debian/rules"
  sed -i 's/Build-Depends: debhelper-compat (= 13), python3/Build-Depends: debhelper-compat (= 13), python3, python3-venv, dh-virtualenv/' \
    "$1/debian/control"
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

# "secs rss_kb" of one dpkg-buildpackage, from /usr/bin/time -v.
measure() { # DIR
  (cd "$1" && /usr/bin/time -v -o "$1.time" dpkg-buildpackage -us -uc -b > "$1.log" 2>&1) || {
    tail -40 "$1.log" >&2; echo "bench-dh.sh: build in $1 failed" >&2; exit 1; }
  awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; secs=s}
              /Maximum resident set size/ {rss=$2}
              END {printf "%.2f %d\n", secs, rss}' "$1.time"
}
size() { stat -c %s "$(dirname "$1")"/benchapp_*.deb; }

for v in dhv-xz venvdeb-xz dhv-zstd venvdeb-zstd; do
  mkdir -p "$work/$v"
  z=; case $v in *zstd) z=-Zzstd ;; esac
  case $v in dhv-*) make_dhv "$work/$v/src" "$z" ;; *) make_venvdeb "$work/$v/src" "$z" ;; esac
done

sync
set -- $(measure "$work/dhv-xz/src"); dhv_xz=$1 dhv_xz_rss=$2
set -- $(measure "$work/venvdeb-xz/src"); vd_xz=$1 vd_xz_rss=$2
set -- $(measure "$work/dhv-zstd/src"); dhv_zstd=$1 dhv_zstd_rss=$2
set -- $(measure "$work/venvdeb-zstd/src"); vd_zstd=$1 vd_zstd_rss=$2

echo "bench-dh: $(ls "$common"/wheelhouse/*.whl | wc -l) wheels, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
row() { printf '%-40s %8s s  %8s KB  %10s bytes\n' "$1" "$2" "$3" "$4"; }
row "dh-virtualenv, xz" "$dhv_xz" "$dhv_xz_rss" "$(size "$work/dhv-xz/src")"
row "dh --with venvdeb, xz" "$vd_xz" "$vd_xz_rss" "$(size "$work/venvdeb-xz/src")"
row "dh-virtualenv, zstd" "$dhv_zstd" "$dhv_zstd_rss" "$(size "$work/dhv-zstd/src")"
row "dh --with venvdeb, zstd" "$vd_zstd" "$vd_zstd_rss" "$(size "$work/venvdeb-zstd/src")"
awk -v a="$dhv_xz" -v b="$vd_xz" 'BEGIN {printf "speed-up with xz:   %.2fx  (goal >= 2.5x)\n", a/b}'
awk -v a="$dhv_zstd" -v b="$vd_zstd" 'BEGIN {printf "speed-up with zstd: %.2fx  (goal >= 8x)\n", a/b}'
