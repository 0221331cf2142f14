#!/bin/sh
# Checks a staged installation (make install DESTDIR=...): the header, both
# libraries with the soname link, libzab.pc, the man pages; then builds and
# runs a tiny program against it through pkg-config.
set -e
root="$1"
fail() { echo "install-check: $*" >&2; exit 1; }
[ -f "$root/include/zab.h" ] || fail "zab.h not installed"
[ -f "$root/lib/libzab.a" ] || fail "libzab.a not installed"
ls "$root"/lib/libzab.so.*.*.* >/dev/null 2>&1 || fail "libzab.so.X.Y.Z not installed"
[ -L "$root/lib/libzab.so" ] || fail "libzab.so link missing"
[ -f "$root/lib/pkgconfig/libzab.pc" ] || fail "libzab.pc not installed"
[ -f "$root/share/man/man7/libzab.7" ] || fail "libzab.7 not installed"
[ -f "$root/share/man/man3/zab_new.3" ] || fail "man3 pages not installed"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/t.c" <<'C'
#include <zab.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    zab_config_t *cfg;
    if (zab_config_new(&cfg) != 0) return 1;
    int ok = zab_config_set_id(cfg, 1) == 0 && zab_config_add_voter(cfg, 1) == 0;
    zab_config_free(cfg);
    if (!ok || strcmp(zab_version_string(), "0.0.0") == 0) return 1;
    printf("libzab %s\n", zab_version_string());
    return 0;
}
C
pc="$root/lib/pkgconfig"
flags=$(PKG_CONFIG_PATH="$pc" PKG_CONFIG_SYSROOT_DIR="${root%/usr}" \
    PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1 \
    pkg-config --cflags --libs libzab)
cc -std=c11 -Wall -Werror -o "$tmp/t" "$tmp/t.c" $flags
LD_LIBRARY_PATH="$root/lib" "$tmp/t" >/dev/null || fail "linked program failed"
echo "install-check: ok"
