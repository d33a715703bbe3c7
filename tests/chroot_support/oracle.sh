# The per-release oracle, run INSIDE a chroot made by scripts/chroot.sh
# (tests/chroot_oracle.rs, scripts/oracle-large.sh):
#
#   sh /oracle/oracle.sh RELEASE PACKAGE [--example]
#
# with the venvdeb binary at /venvdeb/venvdeb and the project (venvdeb.toml,
# wheelhouse/, the hash-pinned requirements.txt, signed sums) at /ex, both
# read-only. Against the chroot's own /usr/bin/python3 and python3-pip:
#  1. venvdeb builds the project; the .deb is installed with dpkg (with
#     --example: demoapp is run and its output checked), the venv is
#     snapshotted, the package purged: the file system must equal the one
#     before (dpkg's bookkeeping, logs and caches aside);
#  2. the release's `python3 -m venv --without-pip` and the release's pip
#     (`install --no-deps --no-index --no-compile --require-hashes`) make the
#     same venv at the same prefix from the same wheels; compare.py requires
#     the two trees equal apart from the documented differences;
#  3. the project is built again from another path, umask 077, another TZ
#     and locale, one CPU and a clock ten years ahead: the same bytes, and
#     `venvdeb rebuild --check` agrees.
set -eu
. /oracle/lib.sh
release=$1 pkg=$2 example=${3:-}
arch=$(dpkg --print-architecture)
py=$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
pipv=$(/usr/bin/python3 -m pip --version | cut -d' ' -f2)
echo "oracle: $release $arch python $py pip $pipv"
prefix=/opt/venvs/$pkg

mkdir -p /build/a
cp -a /ex /build/a/project
cd /build/a/project
/venvdeb/venvdeb build --config venvdeb.toml --output-dir /build/a/out >/build/a/build.log
deb=$(ls /build/a/out/*_"$arch".deb)
test -f "$deb"

snap >/tmp/before
# /opt is no package's (the base system makes it empty): dpkg's purge removes
# it with the last package under it, as for any package in /opt. Only that
# may differ, and only when /opt was empty.
opt_was_empty=; [ -d /opt ] && [ -z "$(ls -A /opt)" ] && opt_was_empty=1
dpkg -i "$deb" >/dev/null
if [ "$example" = --example ]; then
  out=$(cd / && demoapp hi)
  echo "$out" | grep -q "Hello from demoapp, packaged by venvdeb."
  echo "$out" | grep -q "^python *$py\."
  echo "$out" | grep -q "^markupsafe speedups *markupsafe._speedups"
  echo "$out" | grep -q "^labextension data *True"
  echo "$out" | grep -q "^args: hi"
  test "$("$prefix/bin/demoapp-hello")" = "hello from $prefix"
  "$prefix/bin/normalizer" --version | grep -q 3.3.2
fi
python3 /oracle/tree.py "$prefix" >/tmp/ours.json
dpkg --purge "$pkg" >/dev/null
[ -n "$opt_was_empty" ] && [ ! -e /opt ] && mkdir -m 755 /opt
snap >/tmp/after
same /tmp/before /tmp/after "oracle: the install + purge"

/usr/bin/python3 -m venv --without-pip "$prefix"
PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 /usr/bin/python3 -m pip \
  --python "$prefix/bin/python" install --quiet --no-index --no-deps --no-compile \
  --require-hashes --find-links /ex/wheelhouse -r /ex/requirements.txt
python3 /oracle/tree.py "$prefix" >/tmp/pip.json
python3 /oracle/compare.py /tmp/ours.json /tmp/pip.json "$py"
rm -rf "$prefix"

mkdir -p /srv/elsewhere/deeper
cp -a /ex /srv/elsewhere/deeper/project
(
  cd /srv/elsewhere/deeper/project
  umask 077
  TZ=Asia/Kathmandu LC_ALL=C taskset -c 0 faketime '+3650 days' \
    /venvdeb/venvdeb build --config venvdeb.toml --output-dir /srv/elsewhere/out >/dev/null
)
cmp "$deb" "/srv/elsewhere/out/${deb##*/}"
/venvdeb/venvdeb rebuild --check "$deb" --config /srv/elsewhere/deeper/project/venvdeb.toml >/dev/null
echo "oracle: $release ok: ${deb##*/} $(sha256sum "$deb" | cut -d' ' -f1)"
