#!/bin/sh
# Clean Debian chroots for venvdeb's chroot tests (one script for all of them).
#
#   scripts/chroot.sh tarball RELEASE [EXTRA_PKG ...]
#       Prints the path of a cached chroot tarball
#       $VENVDEB_CHROOT_CACHE/<release>-<hash>.tar (default cache directory
#       /var/cache/venvdeb-chroots), making it first when it is missing:
#       mmdebstrap --variant=apt from Debian's archive ($VENVDEB_MIRROR, default
#       http://deb.debian.org/debian) with the base packages below plus the
#       extras. <hash> is the first 12 hex digits of the sha256 of the release,
#       variant, mirror and sorted, de-duplicated package list, so another
#       package set is another tarball. Safe for concurrent callers: one flock
#       per tarball, written to a temporary name and renamed when complete.
#
#   scripts/chroot.sh run TARBALL [--bind HOST:CHROOT] [--ro-bind HOST:CHROOT]
#                     [--no-net] -- CMD ...
#       Unpacks TARBALL into a fresh temporary directory (under $TMPDIR, else
#       /var/tmp), runs CMD as root inside it with a fresh /proc (own PID
#       namespace), a minimal /dev, tmpfs /tmp and /dev/shm, a clean
#       environment (PATH, HOME=/root, LC_ALL=C.UTF-8, TERM=dumb) and the
#       given bind mounts, then removes the directory. --no-net runs CMD
#       without network (own network namespace with only loopback). Exits with
#       CMD's status.
#
# Needs root (CI runs as root) and: mmdebstrap, util-linux unshare, tar.
# Base packages: what building the example's Debian source package
# (debhelper, dpkg-dev, build-essential), the per-release oracle (the
# release's own python3, python3-venv and python3-pip) and its rebuild under
# another clock (faketime) need — nothing else.
set -eu

base_pkgs="build-essential debhelper dpkg-dev faketime python3 python3-venv python3-pip"
variant=apt
mirror=${VENVDEB_MIRROR:-http://deb.debian.org/debian}
cache=${VENVDEB_CHROOT_CACHE:-/var/cache/venvdeb-chroots}

die() { echo "chroot.sh: $*" >&2; exit 2; }
usage() {
  sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

need_root() {
  [ "$(id -u)" = 0 ] || die "$1 needs root (unpacking a chroot keeps owners and device nodes)"
}

cmd_tarball() {
  [ $# -ge 1 ] || usage
  release=$1; shift
  case $release in
    ''|*[!a-z0-9-]*) die "bad release name '$release' (expected e.g. bookworm, trixie)" ;;
  esac
  for p in "$@"; do
    case $p in
      ''|*[!a-z0-9.+:=~-]*) die "bad package name '$p'" ;;
    esac
  done
  # Sorted and de-duplicated in the C locale: the hash depends on the set only.
  pkgs=$(printf '%s\n' $base_pkgs "$@" | LC_ALL=C sort -u)
  hash=$(printf 'release=%s\nvariant=%s\nmirror=%s\n%s\n' "$release" "$variant" "$mirror" "$pkgs" |
    sha256sum | cut -c1-12)
  out=$cache/$release-$hash.tar
  if [ -f "$out" ]; then
    printf '%s\n' "$out"
    return 0
  fi
  need_root "making a chroot tarball"
  command -v mmdebstrap >/dev/null || die "mmdebstrap missing: apt-get install mmdebstrap uidmap"
  mkdir -p "$cache"
  include=$(printf '%s\n' "$pkgs" | paste -sd, -)
  (
    flock 9
    if [ ! -f "$out" ]; then
      tmp=$out.tmp.$$
      trap 'rm -f "$tmp"' EXIT INT TERM
      echo "chroot.sh: making $out ($release: $include)" >&2
      start=$(date +%s)
      # The archive may be a dated mirror whose Release files have expired.
      mmdebstrap --quiet --variant="$variant" --components=main \
        --aptopt='Acquire::Check-Valid-Until "false"' \
        --include="$include" --format=tar \
        "$release" "$tmp" "$mirror" >&2 ||
        die "mmdebstrap failed for $release ($mirror)"
      mv "$tmp" "$out"
      trap - EXIT INT TERM
      echo "chroot.sh: made $out in $(($(date +%s) - start)) s ($(du -m "$out" | cut -f1) MB)" >&2
    fi
  ) 9>"$out.lock"
  [ -f "$out" ] || die "no tarball at $out"
  printf '%s\n' "$out"
}

cmd_run() {
  [ $# -ge 1 ] || usage
  tarball=$1; shift
  [ -f "$tarball" ] || die "no tarball '$tarball' (make one with: $0 tarball RELEASE)"
  need_root "run"
  binds=
  net=
  while [ $# -gt 0 ]; do
    case $1 in
      --bind|--ro-bind)
        spec=${2:?"$1 needs HOST:CHROOT"}
        host=${spec%%:*}; inside=${spec#*:}
        [ "$host" != "$spec" ] && [ -n "$host" ] && [ -n "$inside" ] || die "$1 wants HOST:CHROOT, got '$spec'"
        case $inside in /*) ;; *) die "$1: chroot path '$inside' must be absolute" ;; esac
        case $inside in *..*) die "$1: chroot path '$inside' must not contain '..'" ;; esac
        [ -e "$host" ] || die "$1: host path '$host' does not exist"
        ro=; [ "$1" = --ro-bind ] && ro=ro
        # Newline-separated "ro|rw<TAB>host<TAB>inside" records.
        binds="$binds${ro:-rw}	$host	$inside
"
        shift 2 ;;
      --no-net) net=--net; shift ;;
      --) shift; break ;;
      *) die "unknown run option '$1'" ;;
    esac
  done
  [ $# -ge 1 ] || die "run: no command after --"
  root=$(mktemp -d "${TMPDIR:-/var/tmp}/venvdeb-chroot.XXXXXX")
  trap 'rm -rf "$root"' EXIT INT TERM HUP
  tar -C "$root" --numeric-owner -xpf "$tarball" || die "cannot unpack $tarball"
  # DNS for callers that fetch (e.g. apt in the chroot), unless --no-net.
  if [ -z "$net" ] && [ -f /etc/resolv.conf ]; then
    rm -f "$root/etc/resolv.conf"
    cat /etc/resolv.conf >"$root/etc/resolv.conf"
  fi
  status=0
  # A private mount namespace: every mount below disappears with it, so the
  # rm -rf of the trap never reaches a bind-mounted host directory.
  # shellcheck disable=SC2016
  NET=$net BINDS=$binds unshare --mount --propagation private --pid --fork $net \
    --mount-proc="$root/proc" sh -eu -c '
    root=$1; shift
    [ -n "${NET:-}" ] && ip link set lo up 2>/dev/null || true
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
    mount -t tmpfs -o mode=0755,nosuid tmpfs "$root/dev"
    for d in null zero full random urandom tty; do
      : >"$root/dev/$d"
      mount --bind "/dev/$d" "$root/dev/$d"
    done
    mkdir -m 1777 "$root/dev/shm" && mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"
    mkdir "$root/dev/pts" && mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts" 2>/dev/null || true
    ln -s pts/ptmx "$root/dev/ptmx"
    ln -s /proc/self/fd "$root/dev/fd"
    ln -s /proc/self/fd/0 "$root/dev/stdin"
    ln -s /proc/self/fd/1 "$root/dev/stdout"
    ln -s /proc/self/fd/2 "$root/dev/stderr"
    tab=$(printf "\t")
    printf "%s" "$BINDS" | while IFS="$tab" read -r mode host inside; do
      [ -n "$host" ] || continue
      if [ -d "$host" ]; then mkdir -p "$root$inside"; else mkdir -p "$root${inside%/*}"; : >"$root$inside"; fi
      mount --bind "$host" "$root$inside"
      [ "$mode" = ro ] && mount -o remount,bind,ro "$root$inside"
      :
    done
    exec chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      HOME=/root LC_ALL=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive "$@"
  ' chroot-run "$root" "$@" || status=$?
  rm -rf "$root"
  trap - EXIT INT TERM HUP
  return "$status"
}

[ $# -ge 1 ] || usage
sub=$1; shift
case $sub in
  tarball) cmd_tarball "$@" ;;
  run) cmd_run "$@" ;;
  -h|--help|help) usage ;;
  *) die "unknown command '$sub' (tarball or run)" ;;
esac
