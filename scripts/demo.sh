#!/bin/sh
# venvdeb's main job on the bundled example, offline: build venvdeb (release),
# then `venvdeb build` example/ (a tiny app + four real PyPI wheels, signed
# with a TEST-ONLY key) into a .deb, and show what is in it. Installs nothing
# (Debian packages it needs to build are installed when run as root, or the
# command is printed). Usage: sh scripts/demo.sh [OUTPUT_DIR]
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh demo
out=${1:-target/demo}
cargo build --release --locked --quiet
mkdir -p "$out"
rm -f "$out"/demoapp_*.deb
# SOURCE_DATE_EPOCH comes from example/debian/changelog unless set.
./target/release/venvdeb build --config example/venvdeb.toml --output-dir "$out" > "$out/build.log"
cat "$out/build.log"
deb=$(head -n 1 "$out/build.log")
echo
echo "== $deb"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
echo
echo "== contents: $(dpkg-deb --contents "$deb" | wc -l) entries, $(dpkg-deb --contents "$deb" | grep -c '^-') files; top of the tree:"
dpkg-deb --contents "$deb" | awk '{ l = $6; if ($7 == "->") l = l " -> " $8; print l }' |
  grep -E '^\./(usr/bin/.|usr/share/doc/.|opt/venvs/demoapp/(bin/.|pyvenv.cfg|lib/python3\.[0-9]+/site-packages/[^/]+/$))' |
  sed 's|^\./|/|'
echo
echo "== sha256"
sha256sum "$deb"
echo
echo "Rebuild it anywhere from the same inputs to get the same sha256."
echo "Install with: dpkg -i $deb   (then run: demoapp)"
