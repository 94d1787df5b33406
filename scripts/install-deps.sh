#!/bin/sh
# install-deps.sh - install the system packages Kizuna builds and tests with, and
# the dashboard's npm packages.
#
# The Makefile runs this when pkg-config cannot find a library (with --no-web) and
# when `make test` finds no /usr/bin/chromium. It knows Debian and Ubuntu (apt-get);
# elsewhere it prints the package names and fails, so that a person can install them
# by hand. As root it calls apt-get directly, otherwise through sudo. It installs
# nothing from outside the distribution's archive, except the dashboard's packages:
# `npm ci` in web/ (exactly web/package-lock.json, from the npm registry) when
# web/node_modules is missing or older than the lock file. That needs Node >= 20.19
# (Vite 7); without node and npm it installs Debian's nodejs and npm.
#
#   install-deps.sh            everything
#   install-deps.sh --bench    also what `make bench` needs besides node and npm
#   install-deps.sh --no-web   the system packages only, not npm ci
set -eu
cd "$(dirname "$0")/.."

# Build and test dependencies, one package a line (Debian 12 names): chromium runs
# the dashboard's browser tests (tests/web), fonts-ipafont-gothic lets it draw the
# Japanese pages in their screenshots.
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
chromium
fonts-ipafont-gothic
"

WEB=1
for arg in "$@"; do
    case "$arg" in
        --bench) PACKAGES="$PACKAGES time python3 wrk curl" ;;
        --no-web) WEB=0 ;;
        *) echo "install-deps: unknown option $arg (--bench, --no-web)" >&2; exit 2 ;;
    esac
done
# node and npm for the dashboard: Debian's when there are none
if [ "$WEB" = 1 ] && ! { command -v node && command -v npm; } >/dev/null 2>&1; then
    PACKAGES="$PACKAGES nodejs npm"
fi

# npm ci in web/ when web/node_modules is missing or older than the lock file
# (npm writes node_modules/.package-lock.json at the end of every install).
web_deps() {
    [ "$WEB" = 1 ] || return 0
    lock=web/package-lock.json stamp=web/node_modules/.package-lock.json
    if [ -e "$stamp" ] && [ -z "$(find "$lock" -newer "$stamp")" ]; then
        echo "install-deps: web/node_modules is up to date"
        return 0
    fi
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        echo "install-deps: node and npm are needed for the dashboard (web/); install Node >= 20.19" >&2
        exit 1
    fi
    v=$(node -p 'process.versions.node')
    major=${v%%.*} rest=${v#*.} minor=${rest%%.*}
    if ! { [ "$major" -eq 20 ] && [ "$minor" -ge 19 ]; } && ! { [ "$major" -eq 22 ] && [ "$minor" -ge 12 ]; } &&
        ! [ "$major" -gt 22 ]; then
        echo "install-deps: node $v ($(command -v node)) is too old for the dashboard: Vite 7 needs Node 20.19+ or 22.12+." >&2
        echo "install-deps: install a newer Node (https://nodejs.org/en/download, or NodeSource's packages), then run this again" >&2
        exit 1
    fi
    echo "install-deps: npm ci in web/ (node $v)"
    (cd web && npm ci --no-audit --no-fund)
}

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
    web_deps
    exit 0
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
web_deps
