#!/bin/sh
# Turn a directory or an apt repository of venvdeb packages into the JSON
# that `rebuildctl pkgs sync-stdin DISTRO SUITE` reads in rebuilderd 0.23/0.24
# (Debian trixie): an array of PkgGroup, [{"name", "version", "distro",
# "suite", "architecture", "input_url", "artifacts": [{"name", "version",
# "url"}]}], which rebuildctl wraps into the daemon's SuiteImport with the
# DISTRO and SUITE given on its command line (use the same as --distro and
# --suite here). One group per package, sorted by file name. Each group has the
# .deb as its only artifact and no input_url, so the worker hands the .deb
# itself to venvdeb's backend (scripts/rebuilderd-backend.sh).
#
#   rebuilderd-import.sh [--distro venvdeb] [--suite main] --base-url URL DIR
#       every *.deb directly in DIR that carries a venvdeb build manifest
#       (other packages are skipped), published at URL/<file name>;
#   rebuilderd-import.sh [--distro venvdeb] [--suite main] --base-url URL \
#       --packages FILE [--name GLOB]...
#       every stanza of an apt Packages file (plain, .gz or .xz) whose
#       Package matches a --name glob (default: all), at URL/<Filename>.
#
# Then: rebuilderd-import.sh … | rebuildctl pkgs sync-stdin venvdeb main
# Deterministic: output depends only on the packages (sorted in the C locale).
set -eu

distro=venvdeb
suite=main
base=
packages=
names=
dir=
die() { echo "rebuilderd-import.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --distro) distro=$2; shift 2 ;;
    --suite) suite=$2; shift 2 ;;
    --base-url) base=${2%/}; shift 2 ;;
    --packages) packages=$2; shift 2 ;;
    --name) names="$names $2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) [ -z "$dir" ] || die "one DIR only"; dir=$1; shift ;;
  esac
done
[ -n "$base" ] || die "--base-url URL is required"
if [ -n "$packages" ] && [ -n "$dir" ]; then die "give DIR or --packages, not both"; fi
[ -n "$packages" ] || [ -n "$dir" ] || die "give DIR or --packages FILE"

# Values go into JSON strings unescaped: refuse anything but the characters
# Debian allows in names, versions and architectures, and plain URL bytes.
check() {
  case $2 in
    ''|*[!A-Za-z0-9.+~:_-]*) die "$1 ${2:-<empty>} has characters outside [A-Za-z0-9.+~:_-]" ;;
  esac
}
check_url() {
  case $1 in
    *[!A-Za-z0-9.+~:_/%@=-]*|'') die "URL $1 has characters that need escaping" ;;
  esac
}
check distro "$distro"; check suite "$suite"; check_url "$base"

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT INT TERM
# One tab-separated line per package: file-or-path, name, version, arch.
if [ -n "$dir" ]; then
  [ -d "$dir" ] || die "$dir: not a directory"
  for deb in "$dir"/*.deb; do
    [ -f "$deb" ] || continue
    name=$(dpkg-deb -f "$deb" Package)
    version=$(dpkg-deb -f "$deb" Version)
    arch=$(dpkg-deb -f "$deb" Architecture)
    if ! dpkg-deb -c "$deb" | awk '{print $NF}' |
      grep -qxE "\./usr/share/doc/$name/venvdeb-manifest\.json(\.gz)?"; then
      echo "rebuilderd-import.sh: skipping $deb (no venvdeb manifest)" >&2
      continue
    fi
    printf '%s\t%s\t%s\t%s\n' "$(basename "$deb")" "$name" "$version" "$arch"
  done >"$tmp"
else
  case $packages in
    *.gz) cat_ () { gzip -dc "$1"; } ;;
    *.xz) cat_ () { xz -dc "$1"; } ;;
    *) cat_ () { cat "$1"; } ;;
  esac
  cat_ "$packages" | awk -v FS=': ' -v OFS='\t' '
    /^Package: / { p = $2 } /^Version: / { v = $2 } /^Architecture: / { a = $2 }
    /^Filename: / { f = $2 }
    /^$/ { if (p != "") print f, p, v, a; p = v = a = f = "" }
    END { if (p != "") print f, p, v, a }' >"$tmp.all"
  : >"$tmp"
  while IFS="$(printf '\t')" read -r f p v a; do
    keep=${names:+no}
    for g in $names; do
      # shellcheck disable=SC2254
      case $p in $g) keep=yes ;; esac
    done
    [ "${keep:-yes}" = yes ] && printf '%s\t%s\t%s\t%s\n' "$f" "$p" "$v" "$a" >>"$tmp"
  done <"$tmp.all"
  rm -f "$tmp.all"
fi

LC_ALL=C sort -o "$tmp" "$tmp"
printf '['

sep=
while IFS="$(printf '\t')" read -r file name version arch; do
  check name "$name"; check version "$version"; check architecture "$arch"; check_url "$file"
  printf '%s{"name":"%s","version":"%s","distro":"%s","suite":"%s","architecture":"%s","input_url":null,"artifacts":[{"name":"%s","version":"%s","url":"%s/%s"}]}' \
    "$sep" "$name" "$version" "$distro" "$suite" "$arch" "$name" "$version" "$base" "$file"
  sep=,
done <"$tmp"
printf ']\n'
