#!/bin/sh
# Install the Debian packages venvdeb's demo and tests need (when root), or
# print the command to do so. Usage: scripts/deps.sh [demo|test]
set -eu
what=${1:-test}
# Building venvdeb: a C toolchain and the system compression libraries it
# links (liblzma and libzstd as dpkg-deb does, zlib for gzip).
pkgs="build-essential pkg-config liblzma-dev libzstd-dev zlib1g-dev dpkg-dev python3 python3-venv xz-utils"
if [ "$what" = test ]; then
  # The real tools the tests compare with or drive.
  pkgs="$pkgs gnupg gpgv faketime fakeroot lintian debhelper python3-pip unzip zstd time reprotest disorderfs"
  # SBOM validation against the shipped CycloneDX schema (inspect tests).
  pkgs="$pkgs python3-jsonschema"
  # The reference the PEP 440/508 differential test and the tags test compare
  # with (tests/pep_differential.rs, src/plan/tags.rs).
  pkgs="$pkgs python3-packaging"
  # Sequoia's sqv: tests/verify_keys.rs compares venvdeb's signature verdicts
  # with sqv's and gpgv's (docs/verify.md's table).
  pkgs="$pkgs sqv"
  # Python.h for the C-extension fixture sdist (release tests: wheels build).
  pkgs="$pkgs python3-dev"
  # debhelper tests: `man -l` renders the generated pages; pod2man (perl)
  # and dpkg-buildpackage come with debhelper/dpkg-dev.
  pkgs="$pkgs man-db"
  # reprotest's recommends that tests/dh_reprotest.rs relies on: diffoscope
  # compares the two builds (reprotest fails without it), locales-all backs
  # its locale variation.
  pkgs="$pkgs diffoscope-minimal locales-all"
  # Clean-chroot tests (scripts/chroot.sh, tests/chroot_*.rs): mmdebstrap
  # makes the bookworm/trixie tarballs from Debian's archive; sbuild and
  # uidmap for building in them the way Debian's buildds do.
  pkgs="$pkgs mmdebstrap sbuild uidmap"
  # tests/system_site_packages.rs: an app whose venv imports `yaml` from
  # Debian's package ([venv] system-site-packages).
  pkgs="$pkgs python3-yaml"
  # tests/sync_https.rs: a throwaway CA and server certificates (openssl)
  # for `wheels sync` over real TLS; tests/sync_http.rs holds a sync's
  # directory lock with util-linux's flock.
  pkgs="$pkgs openssl util-linux"
fi
missing=
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $missing
else
  echo "venvdeb needs these Debian packages; run as root:" >&2
  echo "  apt-get install -y --no-install-recommends$missing" >&2
  exit 2
fi
