#!/bin/sh
# install-deps.sh - install the system packages Kizuna builds and tests with.
#
# The Makefile runs this when pkg-config cannot find a library. It knows Debian and
# Ubuntu (apt-get); elsewhere it prints the package names and fails, so that a person
# can install them by hand. As root it calls apt-get directly, otherwise through sudo.
# It installs nothing from outside the distribution's archive.
set -eu

# Build and test dependencies, one package a line (Debian 12 names).
# `install-deps.sh --bench` adds what `make bench` needs besides node and npm.
PACKAGES="
build-essential
pkg-config
libsqlite3-dev
libcjson-dev
libzstd-dev
libinih-dev
libxgboost-dev
libmicrohttpd-dev
libsodium-dev
libcurl4-openssl-dev
libmd4c-dev
libmd4c-html0-dev
libcriterion-dev
tzdata
"

if [ "${1:-}" = "--bench" ]; then
    PACKAGES="$PACKAGES time python3 wrk curl"
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: apt-get not found; install these packages (or your system's equivalents):" >&2
    echo $PACKAGES >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "install-deps: not root and sudo is missing; run as root: apt-get install $(echo $PACKAGES)" >&2
    exit 1
fi

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
