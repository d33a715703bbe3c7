# The clean-chroot Debian build, run INSIDE a chroot made by scripts/chroot.sh
# (tests/chroot_dh.rs):
#
#   sh /oracle/dh.sh RELEASE [--lintian]
#
# with venvdeb's own package (scripts/make-deb.sh) as the only .deb under
# /in/deb and the example's source tree (no debian/) at /in/src/demoapp-1.0.0
# plus the wheel-list signer's public key at /in/src/signing-key.asc, all
# read-only. Nothing else of the host is visible: no /usr/local, no cargo,
# no checkout. Without network:
#  1. `apt-get install ./venvdeb_….deb` (its Depends — libc6, liblzma5,
#     libzstd1, zlib1g, debhelper — are in the chroot already);
#     with --lintian, lintian on that .deb (printed, errors fail);
#  2. the installed `venvdeb init` writes debian/ (Build-Depends:
#     dh-sequence-venvdeb) into a copy of the source, and
#     `dpkg-buildpackage -us -uc -b` builds it, build dependencies checked;
#  3. a second build from another, longer path under umask 077, another TZ
#     and locale, one CPU and a faked clock: the same bytes;
#  4. the package installs with dpkg, demoapp runs, and its purge leaves the
#     file system as it was;
#  5. `apt-get remove --purge venvdeb` leaves the file system as it was
#     before venvdeb was installed.
set -eu
release=$1 lintian=${2:-}
. /oracle/lib.sh
arch=$(dpkg --print-architecture)
py=$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
echo "dh: $release $arch python $py debhelper $(dpkg-query -W -f '${Version}' debhelper)"

set -- /in/deb/venvdeb_*_"$arch".deb
[ $# = 1 ] && [ -f "$1" ] || { echo "dh: expected one venvdeb_*_$arch.deb in /in/deb, got: $*" >&2; exit 1; }
vdeb=$1

snap >/tmp/before-venvdeb
t0=$(date +%s)
apt-get install -y --no-install-recommends "$vdeb" >/tmp/apt-install.log 2>&1 || {
  cat /tmp/apt-install.log >&2; exit 1; }
[ "$(dpkg-query -W -f '${db:Status-Abbrev}' venvdeb)" = "ii " ] || {
  echo "dh: venvdeb is not fully installed" >&2; dpkg -l venvdeb >&2; exit 1; }
test -x /usr/bin/dh_venvdeb
test -f /usr/share/perl5/Debian/Debhelper/Sequence/venvdeb.pm
venvdeb --version
echo "dh: venvdeb installed in $(($(date +%s) - t0)) s"

if [ "$lintian" = --lintian ]; then
  echo "dh: lintian $(dpkg-query -W -f '${Version}' lintian) on ${vdeb##*/}:"
  # Not --fail-on: every tag is printed, then errors fail the test.
  lintian --display-info --display-experimental --show-overrides "$vdeb" >/tmp/lintian.log 2>&1 || true
  sed 's/^/  lintian: /' /tmp/lintian.log
  if grep -q '^E: ' /tmp/lintian.log; then
    echo "dh: lintian reports errors on ${vdeb##*/}" >&2
    exit 1
  fi
  echo "dh: lintian done ($(grep -c '^[EW]: ' /tmp/lintian.log || true) errors+warnings)"
fi

# The source package, as a packager makes it: `venvdeb init` writes debian/.
mkdir -p /build/a
cp -a /in/src/demoapp-1.0.0 /build/a/
cd /build/a/demoapp-1.0.0
rm -f keyring.gpg
DEBFULLNAME="Demo Maintainer" DEBEMAIL=demo@example.org SOURCE_DATE_EPOCH=1704067200 \
  venvdeb init . --import-key /in/src/signing-key.asc >/dev/null
grep -q '^Build-Depends:.*dh-sequence-venvdeb' debian/control || {
  echo "dh: venvdeb init did not write Build-Depends: dh-sequence-venvdeb" >&2; cat debian/control >&2; exit 1; }
mkdir -p /srv/elsewhere/with/a/longer/path
cp -a /build/a/demoapp-1.0.0 /srv/elsewhere/with/a/longer/path/

t0=$(date +%s)
(umask 022; TZ=UTC dpkg-buildpackage -us -uc -b >/tmp/build-a.log 2>&1) || {
  cat /tmp/build-a.log >&2; exit 1; }
grep -q dh_venvdeb /tmp/build-a.log || { echo "dh: dh_venvdeb did not run" >&2; cat /tmp/build-a.log >&2; exit 1; }
deb=/build/a/demoapp_1.0.0-1_$arch.deb
test -f "$deb"
echo "dh: built ${deb##*/} in $(($(date +%s) - t0)) s"

t0=$(date +%s)
(
  cd /srv/elsewhere/with/a/longer/path/demoapp-1.0.0
  umask 077
  TZ=Pacific/Kiritimati LC_ALL=C taskset -c 0 faketime '2031-06-15 12:34:56' \
    dpkg-buildpackage -us -uc -b >/tmp/build-b.log 2>&1
) || { cat /tmp/build-b.log >&2; exit 1; }
deb_b=/srv/elsewhere/with/a/longer/path/${deb##*/}
if ! cmp "$deb" "$deb_b"; then
  echo "dh: the two builds differ:" >&2
  sha256sum "$deb" "$deb_b" >&2
  dpkg-deb -c "$deb" >/tmp/a.list; dpkg-deb -c "$deb_b" >/tmp/b.list
  diff /tmp/a.list /tmp/b.list >&2 || true
  exit 1
fi
echo "dh: second build (other path, umask 077, TZ, faketime, one CPU) in $(($(date +%s) - t0)) s: same bytes"
dpkg-deb -f "$deb" Depends

snap >/tmp/before-demoapp
opt_was_empty=; [ -d /opt ] && [ -z "$(ls -A /opt)" ] && opt_was_empty=1
dpkg -i "$deb" >/dev/null
out=$(cd / && demoapp hi)
echo "$out" | grep -q "Hello from demoapp, packaged by venvdeb."
echo "$out" | grep -q "^python *$py\."
echo "$out" | grep -q "^args: hi"
dpkg --purge demoapp >/dev/null
[ -n "$opt_was_empty" ] && [ ! -e /opt ] && mkdir -m 755 /opt
snap >/tmp/after-demoapp
same /tmp/before-demoapp /tmp/after-demoapp "the install + purge of demoapp"

cd /
apt-get remove --purge -y venvdeb >/tmp/apt-remove.log 2>&1 || { cat /tmp/apt-remove.log >&2; exit 1; }
case $(dpkg-query -W -f '${db:Status-Abbrev}' venvdeb 2>/dev/null || true) in
  ''|'un '|'pn ') ;;
  *) echo "dh: venvdeb is still installed or configured after the purge" >&2; dpkg -l venvdeb >&2; exit 1 ;;
esac
snap >/tmp/after-venvdeb
same /tmp/before-venvdeb /tmp/after-venvdeb "apt-get remove --purge venvdeb"
echo "dh: $release ok: ${deb##*/} $(sha256sum "$deb" | cut -d' ' -f1)"
