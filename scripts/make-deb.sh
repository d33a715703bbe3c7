#!/bin/sh
# Build venvdeb's own Debian package from this repository, reproducibly:
# target/debian/venvdeb_<version>-1_<arch>.deb, written by venvdeb's own
# .deb writer (`venvdeb deb`).
#
#   scripts/make-deb.sh [--binary PATH] [--output-dir DIR]
#
# --binary      package this venvdeb executable instead of building one
#               (it must come from this script's build to be reproducible)
# --output-dir  where the .deb goes (default: target/debian)
#
# The package holds /usr/bin/venvdeb, dh_venvdeb, the debhelper sequence
# addon (Debian::Debhelper::Sequence::venvdeb, so that both
# `Build-Depends: dh-sequence-venvdeb` and `dh $@ --with venvdeb` work), its
# autoscripts, the templates of `venvdeb init`, the man pages, the docs, a
# machine-readable copyright listing the statically linked Rust crates
# (packaging/copyright.py) and changelog.Debian.gz. It Provides
# dh-sequence-venvdeb; Depends is what dpkg-shlibdeps finds for the
# executable plus `debhelper (>= 13)`.
#
# Reproducible: the version comes from Cargo.toml; SOURCE_DATE_EPOCH from
# the environment, else the last commit's time (git log -1 --format=%ct),
# else 1767225600 (2026-01-01 00:00:00 UTC); every mtime is set to it. The
# Rust build runs with --remap-path-prefix for the checkout and CARGO_HOME
# (as Debian's cargo wrapper does) and -C strip=symbols, in its own target
# directory (target/make-deb, or $CARGO_TARGET_DIR/make-deb), which later
# runs reuse when it is up to date. umask, TZ and locale are fixed here.
set -eu
umask 022
export LC_ALL=C TZ=UTC
unset DEB_BUILD_OPTIONS DEB_BUILD_PROFILES DEB_HOST_ARCH 2>/dev/null || true

repo=$(cd "$(dirname "$0")/.." && pwd -P)
binary=
outdir=$repo/target/debian
while [ $# -gt 0 ]; do
  case $1 in
    --binary) binary=${2:?--binary needs a path}; shift 2 ;;
    --binary=*) binary=${1#*=}; shift ;;
    --output-dir) outdir=${2:?--output-dir needs a directory}; shift 2 ;;
    --output-dir=*) outdir=${1#*=}; shift ;;
    -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "make-deb.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
for tool in cargo dpkg dpkg-shlibdeps pod2man gzip strip /usr/bin/python3; do
  command -v "$tool" >/dev/null || {
    echo "make-deb.sh: $tool is missing (scripts/deps.sh installs the Debian packages)" >&2; exit 2; }
done

cd "$repo"
host=$(rustc -vV | sed -n 's/^host: //p')
work_meta=$(mktemp)
trap 'rm -f "$work_meta"' EXIT INT TERM
cargo metadata --format-version 1 --locked --offline --filter-platform "$host" >"$work_meta"
version=$(/usr/bin/python3 -c 'import json,sys
p=[p for p in json.load(open(sys.argv[1]))["packages"] if p["name"]=="venvdeb" and p["source"] is None]
print(p[0]["version"])' "$work_meta")
debversion=$version-1
arch=$(dpkg --print-architecture)

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git -C "$repo" log -1 --format=%ct 2>/dev/null || echo 1767225600)
fi
export SOURCE_DATE_EPOCH

if [ -z "$binary" ]; then
  cargo_home=$(cd "${CARGO_HOME:-$HOME/.cargo}" && pwd -P)
  target=${CARGO_TARGET_DIR:-$repo/target}/make-deb
  flags="--remap-path-prefix=$cargo_home=/usr/share/cargo --remap-path-prefix=$repo=/usr/src/venvdeb-$version"
  case $target in
    "$repo"/*) ;;
    *) mkdir -p "$target"; flags="$flags --remap-path-prefix=$(cd "$target" && pwd -P)=/usr/src/venvdeb-$version/target/make-deb" ;;
  esac
  RUSTFLAGS="$flags -C strip=symbols" cargo build --release --locked --target-dir "$target" >&2
  binary=$target/release/venvdeb
fi
[ -x "$binary" ] || { echo "make-deb.sh: $binary is not an executable" >&2; exit 2; }
case $binary in /*) ;; *) binary=$(pwd)/$binary ;; esac

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd -P)
work=$(mktemp -d "$outdir/.make-deb.XXXXXX")
trap 'rm -rf "$work" "$work_meta"' EXIT INT TERM
root=$work/root

# Programs, addon, autoscripts, templates and man pages, as install.sh lays
# them out for /usr (the addon in /usr/share/perl5).
"$repo/scripts/install.sh" --prefix /usr --destdir "$root" --binary "$binary" >/dev/null
rm -f "$root/usr/share/venvdeb/installed-files"
# As dh_strip does (the symbols are gone already: -C strip=symbols).
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$root/usr/bin/venvdeb"
[ -f "$root/usr/share/perl5/Debian/Debhelper/Sequence/venvdeb.pm" ] || {
  echo "make-deb.sh: the addon is not in /usr/share/perl5 (install.sh put it elsewhere)" >&2; exit 1; }
gzip -9n "$root"/usr/share/man/man1/*.1

doc=$root/usr/share/doc/venvdeb
install -d -m 0755 "$doc/docs" "$root/usr/share/lintian/overrides"
install -m 0644 README.md "$doc/README.md"
for f in docs/*.md; do install -m 0644 "$f" "$doc/docs/$(basename "$f")"; done
# As dh_compress: documentation over 4 KiB is compressed.
find "$doc" -type f -size +4k -exec gzip -9n {} +
/usr/bin/python3 packaging/copyright.py "$work_meta" >"$doc/copyright"
chmod 0644 "$doc/copyright"
maintainer=$(sed -n 's/^Maintainer: //p' packaging/control.in)
{
  printf 'venvdeb (%s) unstable; urgency=medium\n\n' "$debversion"
  printf '  * Built from the venvdeb repository by scripts/make-deb.sh.\n\n'
  printf ' -- %s  %s\n' "$maintainer" "$(date -u -d "@$SOURCE_DATE_EPOCH" -R)"
} | gzip -9n >"$doc/changelog.Debian.gz"
chmod 0644 "$doc/changelog.Debian.gz"
install -m 0644 packaging/lintian-overrides "$root/usr/share/lintian/overrides/venvdeb"

# Installed-Size as dpkg-gencontrol counts it (KiB per file or symlink,
# rounded up; 1 for every directory), before DEBIAN/ exists.
size=$(find "$root" -printf '%y %s\n' | awk '
  $1 == "f" || $1 == "l" { n += int(($2 + 1023) / 1024); next } { n += 1 } END { print n }')

# Depends: what dpkg-shlibdeps finds for the executable, plus debhelper.
mkdir -p "$work/shlibs/debian"
printf 'Source: venvdeb\n\nPackage: venvdeb\nArchitecture: any\n' >"$work/shlibs/debian/control"
shlibs=$(cd "$work/shlibs" && dpkg-shlibdeps -O "-e$root/usr/bin/venvdeb" 2>"$work/shlibs.err" \
  | sed -n 's/^shlibs:Depends=//p') || { cat "$work/shlibs.err" >&2; exit 1; }
[ -n "$shlibs" ] || { echo "make-deb.sh: dpkg-shlibdeps found no dependencies" >&2; cat "$work/shlibs.err" >&2; exit 1; }

install -d -m 0755 "$root/DEBIAN"
sed -e "s|@VERSION@|$debversion|" -e "s|@ARCH@|$arch|" -e "s|@INSTALLED_SIZE@|$size|" \
  -e "s|@DEPENDS@|$shlibs, debhelper (>= 13)|" packaging/control.in >"$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | sort | tr '\n' '\0' \
  | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

deb=$outdir/venvdeb_${debversion}_$arch.deb
"$binary" deb --root "$root" --output "$deb" --source-date-epoch "$SOURCE_DATE_EPOCH" >/dev/null
sha256sum "$deb" | sed 's/ .*//' | tr '\n' ' '
echo "$deb"
