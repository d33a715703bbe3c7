#!/bin/sh
# Run every venvdeb test: unit tests and end-to-end tests against the real
# dpkg-deb, gpgv, python3, lintian and dpkg-buildpackage. No network needed
# beyond crates.io for the first cargo build.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh test
cargo test --locked "$@"
