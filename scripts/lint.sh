#!/bin/sh
# lint.sh - mechanical checks of the house style (docs/architecture.md, "Rules").
#   - no unbounded or unchecked string functions (strcpy, strcat, sprintf, ...)
#   - no SQL outside src/store/
#   - the lower layers never include the upper ones
set -eu
cd "$(dirname "$0")/.."
status=0

banned='\<(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|atoll|atof|gets|strncpy|strncat|tmpnam|mktemp)[[:space:]]*\('
if grep -rnE "$banned" src tests --include='*.c' --include='*.h'; then
    echo "lint: banned function above (use kz_buf, snprintf, kz_parse_int, ...)" >&2
    status=1
fi

if grep -rnE '"[[:space:]]*(SELECT|INSERT|UPDATE|DELETE|CREATE|PRAGMA)[[:space:]]' src --include='*.c' | grep -v '^src/store/'; then
    echo "lint: SQL outside src/store/ above" >&2
    status=1
fi

for layer in core store ingest engine rules demo; do
    [ -d "src/$layer" ] || continue
    if grep -rnE '#include "(http|api|cli)/' "src/$layer"; then
        echo "lint: src/$layer must not include http/, api/ or cli/" >&2
        status=1
    fi
done
if grep -rnE '#include "(api|cli)/' src/http; then
    echo "lint: src/http must not include api/ or cli/" >&2
    status=1
fi
if grep -rnE '#include "cli/' src/api; then
    echo "lint: src/api must not include cli/" >&2
    status=1
fi
if grep -rnE '#include "(store|ingest|engine|rules|http|api|cli|demo)/' src/core; then
    echo "lint: src/core must not include other modules" >&2
    status=1
fi

[ $status -eq 0 ] && echo "lint: ok"
exit $status
