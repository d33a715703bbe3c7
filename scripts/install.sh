#!/bin/sh
# Install venvdeb, dh_venvdeb, the `dh --with venvdeb` addon, its
# autoscripts, the templates of `venvdeb init` and the man pages; or remove
# them again. (scripts/make-deb.sh uses it to lay out venvdeb's own .deb.)
#
#   scripts/install.sh [--prefix DIR] [--binary PATH] [--destdir DIR]
#   scripts/install.sh --uninstall [--prefix DIR] [--destdir DIR]
#
# --prefix   where to install (default /usr/local): DIR/bin, DIR/share/man/man1,
#            the addon in Perl's directory for DIR (site or vendor) or else
#            DIR/share/perl5 (then add it to PERL5LIB).
# --binary   the venvdeb binary to install (default: target/release/venvdeb,
#            built with `cargo build --release --locked` if missing).
# --destdir  stage everything below DIR (for packagers), like make DESTDIR=.
#
# Running it again installs the same files again (idempotent); every file
# installed is listed in PREFIX/share/venvdeb/installed-files, which
# --uninstall reads to remove exactly those files.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
prefix=/usr/local
binary=
destdir=
uninstall=0
while [ $# -gt 0 ]; do
  case $1 in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --binary) binary=${2:?--binary needs a path}; shift 2 ;;
    --binary=*) binary=${1#*=}; shift ;;
    --destdir) destdir=${2:?--destdir needs a directory}; shift 2 ;;
    --destdir=*) destdir=${1#*=}; shift ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
case $prefix in
  /*) ;;
  *) echo "install.sh: --prefix must be an absolute path: $prefix" >&2; exit 2 ;;
esac
prefix=${prefix%/}

# Perl's own directory for modules under this prefix, so that dh finds the
# addon without PERL5LIB.
perl_dir() {
  site=$(perl -MConfig -e 'print $Config{installsitelib}')
  vendor=$(perl -MConfig -e 'print $Config{installvendorlib}')
  case $1 in
    "$(perl -MConfig -e 'print $Config{siteprefix}')") echo "$site" ;;
    "$(perl -MConfig -e 'print $Config{vendorprefix}')") echo "$vendor" ;;
    *) echo "$1/share/perl5" ;;
  esac
}
perldir=$(perl_dir "$prefix")
manifest=$prefix/share/venvdeb/installed-files
root=${destdir%/}

if [ "$uninstall" = 1 ]; then
  if [ ! -f "$root$manifest" ]; then
    echo "install.sh: nothing to uninstall: $root$manifest does not exist" >&2
    exit 0
  fi
  while IFS= read -r f; do
    case $f in
      "$prefix"/*) rm -f "$root$f" ;;
      *) echo "install.sh: ignoring $f in the manifest: not under $prefix" >&2 ;;
    esac
  done <"$root$manifest"
  rm -f "$root$manifest"
  # Remove the directories that only venvdeb used, when empty.
  for d in "$prefix/share/venvdeb/debian-templates/source" \
    "$prefix/share/venvdeb/debian-templates/licenses" "$prefix/share/venvdeb/debian-templates" \
    "$prefix/share/venvdeb" "$prefix/share/debhelper/autoscripts" "$prefix/share/debhelper" \
    "$perldir/Debian/Debhelper/Sequence"; do
    rmdir "$root$d" 2>/dev/null || true
  done
  echo "venvdeb uninstalled from $root$prefix"
  exit 0
fi

if [ -z "$binary" ]; then
  binary=$repo/target/release/venvdeb
  if [ ! -x "$binary" ]; then
    (cd "$repo" && cargo build --release --locked)
  fi
fi
[ -x "$binary" ] || { echo "install.sh: $binary is not an executable" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
umask 022

# Man pages: venvdeb's from clap, dh_venvdeb's from its POD. No date in
# either, so that they are the same bytes on every install.
mkdir "$work/man"
"$binary" manpages "$work/man" >/dev/null
version=$("$binary" --version | sed 's/^venvdeb //')
for dh in dh_venvdeb dh_venvdeb_provenance; do
  pod2man --section=1 --center="venvdeb manual" --release="venvdeb $version" \
    --date=" " --name="$(echo "$dh" | LC_ALL=C tr a-z A-Z)" "$repo/debian-templates/debhelper/$dh" \
    "$work/man/$dh.1"
done

: >"$work/list"
put() { # put SRC DEST MODE
  install -d -m 0755 "$root$(dirname "$2")"
  install -m "$3" "$1" "$root$2.venvdeb-new"
  mv -f "$root$2.venvdeb-new" "$root$2"
  echo "$2" >>"$work/list"
}

# Files the previous install listed and this one no longer installs
# (e.g. a subcommand's page that is gone) are removed.
old=$work/old
if [ -f "$root$manifest" ]; then cp "$root$manifest" "$old"; else : >"$old"; fi

put "$binary" "$prefix/bin/venvdeb" 0755
put "$repo/debian-templates/debhelper/dh_venvdeb" "$prefix/bin/dh_venvdeb" 0755
put "$repo/debian-templates/debhelper/dh_venvdeb_provenance" "$prefix/bin/dh_venvdeb_provenance" 0755
put "$repo/debian-templates/debhelper/venvdeb.pm" "$perldir/Debian/Debhelper/Sequence/venvdeb.pm" 0644
# rebuilderd: the worker backend and the import (docs/rebuilders.md).
put "$repo/scripts/rebuilderd-backend.sh" "$prefix/libexec/venvdeb/rebuilderd-backend" 0755
put "$repo/scripts/rebuilderd-import.sh" "$prefix/libexec/venvdeb/rebuilderd-import" 0755
# dh_venvdeb's static autoscripts, where debhelper keeps its own (dh_venvdeb
# looks beside itself: PREFIX/bin/../share/debhelper/autoscripts).
for f in "$repo"/debian-templates/debhelper/autoscripts/*; do
  put "$f" "$prefix/share/debhelper/autoscripts/$(basename "$f")" 0644
done
# The debian/ templates `venvdeb init` reads (PREFIX/bin/../share/venvdeb).
(cd "$repo/debian-templates" && find . -path ./debhelper -prune -o -type f -print) \
  | LC_ALL=C sort | while IFS= read -r f; do
  f=${f#./}
  put "$repo/debian-templates/$f" "$prefix/share/venvdeb/debian-templates/$f" 0644
done
for page in "$work"/man/*.1; do
  put "$page" "$prefix/share/man/man1/$(basename "$page")" 0644
done
echo "$manifest" >>"$work/list"
sort -u "$work/list" >"$work/new"
install -d -m 0755 "$root$(dirname "$manifest")"
cp "$work/new" "$root$manifest.venvdeb-new"
chmod 0644 "$root$manifest.venvdeb-new"
mv -f "$root$manifest.venvdeb-new" "$root$manifest"
sort -u "$old" | comm -23 - "$work/new" | while IFS= read -r f; do
  case $f in "$prefix"/*) rm -f "$root$f" ;; esac
done

echo "venvdeb installed under $root$prefix ($(wc -l <"$work/new") files)"
case $perldir in
  "$prefix"/share/perl5)
    echo "note: dh finds the addon only with PERL5LIB=$perldir" ;;
esac
