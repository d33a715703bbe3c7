#!/bin/sh
# Benchmark `venvdeb verify` against the by-hand floor on the same files, in
# one run: `gpgv` (signature) + `sha256sum -c` (list) + `unzip -tq` of every
# wheel (CRC of every entry). venvdeb does more (lock, RECORD sha256 of every
# entry, zip structure checks) and must stay at or under 1.0x the floor.
#
# The 20-wheel set of ../shared/bench/ (fetched once into the cache), its
# sha256sums.txt signed with the TEST-ONLY key A in a throwaway GNUPGHOME,
# the pinned ../shared/bench/requirements.txt as the lock.
#
# Usage: scripts/bench-verify.sh [RUNS]    (default 5; medians are printed)
# Cache: ${VENVDEB_BENCH_CACHE:-/var/tmp/venvdeb-bench}/wheels
# Needs: gpg, gpgv, sha256sum, unzip, a release build (made here).
set -eu
runs=${1:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${VENVDEB_BENCH_CACHE:-/var/tmp/venvdeb-bench}
bench=${VENVDEB_BENCH_DIR:-$here/../shared/bench}
export LC_ALL=C

mkdir -p "$cache"
if [ "$(ls "$cache/wheels" 2>/dev/null | grep -c '\.whl$' || true)" -lt 20 ]; then
  echo "fetching the benchmark wheelhouse into $cache/wheels" >&2
  PATH=/usr/bin:$PATH sh "$bench/fetch-wheelhouse.sh" "$cache/wheels"
fi
wheels=$cache/wheels

(cd "$here" && cargo build --release --quiet)
venvdeb=$here/target/release/venvdeb

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
GNUPGHOME=$work/gnupg
export GNUPGHOME
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --import "$here/fixtures/keys/test-key-a.secret.asc" 2>/dev/null
(cd "$wheels" && sha256sum -- *.whl) >"$work/sha256sums.txt"
gpg --batch --quiet --yes --detach-sign -o "$work/sha256sums.txt.sig" "$work/sha256sums.txt"
keyring=$here/fixtures/keys/test-key-a.public.gpg
cp "$bench/requirements.txt" "$work/requirements.txt"
nwheels=$(ls "$wheels"/*.whl | wc -l)
bytes=$(cat "$wheels"/*.whl | wc -c)

floor() {
  gpgv --keyring "$keyring" "$work/sha256sums.txt.sig" "$work/sha256sums.txt" 2>/dev/null
  (cd "$wheels" && sha256sum -c --quiet "$work/sha256sums.txt")
  for w in "$wheels"/*.whl; do unzip -tq "$w" >/dev/null; done
}
ours() {
  "$venvdeb" verify --wheelhouse "$wheels" --lock "$work/requirements.txt" \
    --sums "$work/sha256sums.txt" --signature "$work/sha256sums.txt.sig" \
    --keyring "$keyring" >/dev/null
}

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Warm the page cache and check both succeed once.
floor
ours
: >"$work/t.floor"
: >"$work/t.ours"
i=0
while [ $i -lt "$runs" ]; do
  t0=$(now); floor; t1=$(now); ours; t2=$(now)
  echo $(( (t1 - t0) / 1000000 )) >>"$work/t.floor"
  echo $(( (t2 - t1) / 1000000 )) >>"$work/t.ours"
  i=$((i + 1))
done
f=$(median <"$work/t.floor")
o=$(median <"$work/t.ours")
echo "wheelhouse: $nwheels wheels, $bytes bytes ($wheels); $(nproc) CPUs; median of $runs runs"
echo "floor (gpgv + sha256sum -c + unzip -tq each): ${f} ms"
echo "venvdeb verify:                               ${o} ms"
awk -v o="$o" -v f="$f" 'BEGIN { printf "ratio venvdeb/floor: %.2fx\n", o / f }'
# CPU time (user+sys) of one more run each: meaningful on a loaded machine,
# where wall time also measures the neighbours.
cpu() { /usr/bin/time -f '%U %S' -o "$work/cpu" "$@" >/dev/null 2>&1; awk '{printf "%.2f", $1 + $2}' "$work/cpu"; }
fcpu=$(cpu sh -c "
  gpgv --keyring '$keyring' '$work/sha256sums.txt.sig' '$work/sha256sums.txt'
  cd '$wheels' && sha256sum -c --quiet '$work/sha256sums.txt'
  for w in '$wheels'/*.whl; do unzip -tq \"\$w\"; done")
ocpu=$(cpu "$venvdeb" verify --wheelhouse "$wheels" --lock "$work/requirements.txt" \
  --sums "$work/sha256sums.txt" --signature "$work/sha256sums.txt.sig" --keyring "$keyring")
echo "CPU seconds (user+sys, one run): floor $fcpu, venvdeb $ocpu"
