#!/bin/sh
# symbols.sh -- checks the symbols exported by the shared library.
#
#   sh test/symbols.sh path/to/libzab.so.X.Y.Z
#
# Every dynamic symbol the library defines (nm -D --defined-only) must be
# prefixed zab_ and have a man page man/man3/NAME.3, and every function
# declared ZAB_API in include/zab.h must be exported.  Prints
# "symbols: N exported, all documented" and exits 0 on success; prints what
# is wrong and exits 1 otherwise (2 on a usage error).  POSIX sh.
#
# Lists of names are split on blanks on purpose, with globbing off (set -f).
# shellcheck disable=SC2086

LC_ALL=C
export LC_ALL
set -f

if [ $# -ne 1 ]; then
    echo "usage: sh test/symbols.sh path/to/libzab.so.X.Y.Z" >&2
    exit 2
fi
lib=$1
root=$(cd "$(dirname "$0")/.." && pwd) || exit 2
header=$root/include/zab.h
mandir=$root/man/man3

if [ ! -f "$lib" ]; then
    echo "symbols: $lib: no such file" >&2
    exit 1
fi
if [ ! -f "$header" ]; then
    echo "symbols: $header: no such file" >&2
    exit 1
fi
if ! command -v nm >/dev/null 2>&1; then
    echo "symbols: nm not found (install binutils)" >&2
    exit 1
fi

# Exported symbols: the last field of each line ("ADDR TYPE NAME"), without
# a symbol version ("@@VER").  The linker defines a few symbols of its own
# in some toolchains; they are not libzab's and are left out.
if ! nm_out=$(nm -D --defined-only "$lib"); then
    echo "symbols: nm -D --defined-only $lib failed" >&2
    exit 1
fi
exported=$(printf '%s\n' "$nm_out" |
    awk 'NF >= 2 { s = $NF; sub(/@.*/, "", s); print s }' |
    grep -v -x -e _init -e _fini -e _edata -e _end -e __bss_start |
    sort -u)

# Functions declared ZAB_API: the identifier before the first "(" of every
# line that starts with ZAB_API (a declaration may continue on later lines).
declared=$(sed -n \
    's/^ZAB_API[^(]*[^A-Za-z0-9_]\([A-Za-z_][A-Za-z0-9_]*\)[[:space:]]*(.*/\1/p' \
    "$header" | sort -u)

fail=0
n=0
for s in $exported; do
    n=$((n + 1))
done
if [ "$n" -eq 0 ]; then
    echo "symbols: $lib exports no symbol" >&2
    exit 1
fi
if [ -z "$declared" ]; then
    echo "symbols: found no ZAB_API function in $header" >&2
    exit 1
fi

bad=""
for s in $exported; do
    case $s in
    zab_*) ;;
    *) bad="$bad $s" ;;
    esac
done
if [ -n "$bad" ]; then
    echo "symbols: exported without the zab_ prefix:" >&2
    printf '    %s\n' $bad >&2
    fail=1
fi

undoc=""
for s in $exported; do
    [ -f "$mandir/$s.3" ] || undoc="$undoc $s"
done
if [ -n "$undoc" ]; then
    echo "symbols: exported without a man page in man/man3:" >&2
    printf '    %s\n' $undoc >&2
    fail=1
fi

missing=""
exported_words=" $(printf '%s ' $exported)"
for d in $declared; do
    case $exported_words in
    *" $d "*) ;;
    *) missing="$missing $d" ;;
    esac
done
if [ -n "$missing" ]; then
    echo "symbols: declared ZAB_API in include/zab.h but not exported:" >&2
    printf '    %s\n' $missing >&2
    fail=1
fi

if [ "$fail" -ne 0 ]; then
    exit 1
fi
echo "symbols: $n exported, all documented"
exit 0
