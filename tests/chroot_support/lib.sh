# Shell functions shared by the scripts that run INSIDE a chroot made by
# scripts/chroot.sh (oracle.sh, dh.sh): `. /oracle/lib.sh`.

# snap: every path of the chroot's own file system, sorted, apart from the
# kernel's and the tests' own directories (the read-only inputs, /build,
# /srv/elsewhere, /tmp) and dpkg's and apt's bookkeeping, logs and caches.
snap() {
  find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /tmp -o -path /build \
       -o -path /srv/elsewhere -o -path /in -o -path /ex -o -path /venvdeb -o -path /oracle \
       -o -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/log -o -path /var/cache \
       -o -path /root \) -prune -o -print | LC_ALL=C sort
}

# same BEFORE AFTER WHAT: fail, showing the difference, unless the two
# snapshots are equal.
same() {
  if ! cmp -s "$1" "$2"; then
    echo "$3 left or removed paths:" >&2
    diff "$1" "$2" >&2 || true
    exit 1
  fi
}
