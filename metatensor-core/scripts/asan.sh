#!/usr/bin/env bash
# Build metatensor-core's C extension with AddressSanitizer into a fresh virtual
# environment, and run the core tests under it. Exits non-zero when the build
# or a test fails, or when ASan reports anything.
#
#   metatensor-core/scripts/asan.sh [pytest arguments...]
#
# PYTHON picks the interpreter for the venv (default python3). The build is
# debugoptimized, so assertions and the extension's test hooks are compiled in.
# Python is not instrumented: libasan is preloaded, PYTHONMALLOC=malloc routes
# Python's allocations through it too, and leak detection is off (the
# interpreter's own never-freed memory is noise).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
core=$(dirname "$here")
work=$(mktemp -d "${TMPDIR:-/tmp}/metatensor-asan.XXXXXX")
trap 'rm -rf "$work"' EXIT

libasan=$(gcc -print-file-name=libasan.so)
if [ ! -e "$libasan" ]; then
    echo "asan.sh: gcc has no libasan.so (install gcc's AddressSanitizer runtime)" >&2
    exit 1
fi

"${PYTHON:-python3}" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet numpy pytest hypothesis meson-python meson ninja
CC=gcc "$work/venv/bin/pip" install --quiet --no-build-isolation \
    -Cbuild-dir="$work/build" \
    -Csetup-args=-Db_sanitize=address \
    -Csetup-args=-Db_lundef=false \
    -Csetup-args=-Dbuildtype=debugoptimized \
    "$core"

# run from the temporary directory: the tests import the installed package
cd "$work"
status=0
LD_PRELOAD="$libasan" \
    ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:log_path=$work/asan" \
    PYTHONMALLOC=malloc \
    "$work/venv/bin/python" -m pytest "$core/tests" -p no:cacheprovider "$@" || status=$?

if compgen -G "$work/asan.*" >/dev/null; then
    cat "$work"/asan.* >&2
    echo "asan.sh: AddressSanitizer reported errors (see above)" >&2
    exit 1
fi
exit "$status"
