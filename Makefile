# libzab -- build, test, install.  See README for the two commands that
# matter (make demo, make check).
#
# Build outputs go to $(B) (build/ by default).  Sanitizer builds re-run
# this Makefile with B=build/asan and extra flags.

VERSION_MAJOR := $(shell sed -n 's/^\#define ZAB_VERSION_MAJOR \([0-9]*\)/\1/p' include/zab.h)
VERSION_MINOR := $(shell sed -n 's/^\#define ZAB_VERSION_MINOR \([0-9]*\)/\1/p' include/zab.h)
VERSION_PATCH := $(shell sed -n 's/^\#define ZAB_VERSION_PATCH \([0-9]*\)/\1/p' include/zab.h)
VERSION := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR ?=

CC ?= cc
B ?= build
OPT ?= -O2 -g
WARN := -std=c11 -Wall -Wextra -Werror -Wshadow -Wpointer-arith \
        -Wstrict-prototypes -Wmissing-prototypes -Wcast-qual -Wvla \
        -Wformat=2 -Wundef -Wno-unused-parameter
CFLAGS_ALL := $(OPT) $(WARN) -D_POSIX_C_SOURCE=200809L $(EXTRA_CFLAGS)
LDFLAGS_ALL := $(EXTRA_LDFLAGS)

LIB_SRC := $(sort $(wildcard libzab/*.c))
LIB_OBJ := $(patsubst libzab/%.c,$(B)/obj/%.o,$(LIB_SRC))
SONAME := libzab.so.$(VERSION_MAJOR)

SIM_SRC := $(sort $(wildcard test/sim/*.c))
SIM_OBJ := $(patsubst test/sim/%.c,$(B)/sim/%.o,$(SIM_SRC))
UNIT_SRC := $(sort $(wildcard test/unit/check_*.c))
UNIT_BIN := $(patsubst test/unit/%.c,$(B)/unit/%,$(UNIT_SRC))
UNIT_LIB_SRC := $(sort $(wildcard test/unit/lib_*.c))

# The server's modules (examples/server, all but the program's main) and
# their unit tests (test/server/check_*.c), linked with OpenSSL's libcrypto.
SRV_SRC := $(filter-out examples/server/zabd.c,$(sort $(wildcard examples/server/*.c)))
SRV_UNIT_SRC := $(sort $(wildcard test/server/check_*.c))
SRV_UNIT_BIN := $(patsubst test/server/%.c,$(B)/server-unit/%,$(SRV_UNIT_SRC))
SRV_OBJ := $(patsubst examples/server/%.c,$(B)/srv/%.o,$(sort $(wildcard examples/server/*.c)))

CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

SWEEP_SEEDS ?= 1-10000
SWEEP_STEPS ?= 4000

.PHONY: all lib sim zabd unit check-python check-kazoo check-cluster check-tls bench-server check check-unit check-scenarios check-sweep \
        check-asan check-valgrind check-install deps fuzz bench demo demo-sim demo-zabd \
        install uninstall clean symbols

all: lib sim zabd sqlite

lib: $(B)/libzab.a $(B)/$(SONAME)

$(B)/obj/%.o: libzab/%.c include/zab.h $(wildcard libzab/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC) $(CFLAGS_ALL) -fPIC -fvisibility=hidden -Iinclude -c $< -o $@

$(B)/libzab.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/$(SONAME): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,$(SONAME) -o $(B)/libzab.so.$(VERSION) $^ $(LDFLAGS_ALL)
	ln -sf libzab.so.$(VERSION) $@
	ln -sf $(SONAME) $(B)/libzab.so

# ---- zabd, the ZooKeeper-compatible server ----------------------------------

zabd: $(B)/zabd

$(B)/srv/%.o: examples/server/%.c include/zab.h $(wildcard examples/server/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC) $(CFLAGS_ALL) -Iinclude -Iexamples/server -c $< -o $@

$(B)/zabd: $(SRV_OBJ) $(B)/libzab.a
	@echo "  LD      $@"
	@$(CC) -o $@ $(SRV_OBJ) $(B)/libzab.a -lssl -lcrypto $(LDFLAGS_ALL)

# ---- examples on libzab: a replicated SQLite ----------------------------------

include examples/sqlite/Makefile.inc

# ---- the recipes on Apache's C client (libzookeeper-mt-dev) ------------------

include examples/recipes/Makefile.inc

# ---- simulator ------------------------------------------------------------

sim: $(B)/zabsim

$(B)/sim/%.o: test/sim/%.c include/zab.h $(wildcard libzab/*.h) $(wildcard test/sim/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC) $(CFLAGS_ALL) -Iinclude -Ilibzab -Itest/sim -c $< -o $@

$(B)/zabsim: $(SIM_OBJ) $(B)/libzab.a
	$(CC) $(CFLAGS_ALL) -o $@ $(SIM_OBJ) $(B)/libzab.a $(LDFLAGS_ALL)

# ---- unit tests (Check) ---------------------------------------------------

unit: $(UNIT_BIN) $(SRV_UNIT_BIN)

$(B)/unit/check_%: test/unit/check_%.c $(UNIT_LIB_SRC) $(B)/libzab.a $(wildcard test/unit/*.h)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	@$(CC) $(CFLAGS_ALL) -Wno-missing-prototypes -Iinclude -Ilibzab -Itest/unit $(CHECK_CFLAGS) \
	    -o $@ $< $(UNIT_LIB_SRC) $(B)/libzab.a $(CHECK_LIBS) $(LDFLAGS_ALL)

$(B)/server-unit/check_%: test/server/check_%.c $(SRV_SRC) $(wildcard examples/server/*.h) $(B)/libzab.a
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	@$(CC) $(CFLAGS_ALL) -Wno-missing-prototypes -Iinclude -Iexamples/server $(CHECK_CFLAGS) \
	    -o $@ $< $(SRV_SRC) $(B)/libzab.a $(CHECK_LIBS) -lssl -lcrypto $(LDFLAGS_ALL)

# ---- checks ---------------------------------------------------------------

check: deps
	$(MAKE) check-unit check-scenarios check-sweep check-python
	$(MAKE) check-kazoo check-cluster check-tls check-recipes check-recipes-zk check-sqlite
	$(MAKE) check-asan
	$(MAKE) check-valgrind
	$(MAKE) check-install symbols
	@echo "make check: all passed"

# Kazoo's own test suite (Debian's python3-kazoo ships it) against a
# 3-node zabd cluster; test/kazoo/not-applicable.txt lists what zabd does
# not do, with the reason.
check-kazoo: zabd
	/usr/bin/python3 test/kazoo/run_suite.py -z $(B)/zabd -x test/kazoo/not-applicable.txt

# Real processes and Apache's clients: Kazoo, the C client, cli_mt and
# zkCli.sh against a standalone zabd and a 3-node cluster, the fault
# tests (SIGKILL under load, restart all, a member needing SNAP, a torn log
# tail) and SASL DIGEST-MD5 (a raw client, Kazoo, zkCli.sh).
# `test/cluster/run.sh zookeeper` runs the same against Apache ZooKeeper
# 3.8, the reference.
check-cluster: zabd
	ZABD=$(CURDIR)/$(B)/zabd test/cluster/run.sh zabd

# TLS with ZooKeeper's keys (sslQuorum, secureClientPort, PEM stores made by
# the openssl command): Kazoo and zkCli over TLS, refused clients, a leader
# failover over TLS, a member with another CA's certificate kept out, a
# TLS-only server (~15 s).  `test/cluster/run.sh zookeeper tls` runs the same
# zoo.cfg against Apache ZooKeeper 3.8.
check-tls: zabd
	ZABD=$(CURDIR)/$(B)/zabd test/cluster/run.sh zabd tls

# libzab through FFI: a 3-node cluster inside one Python process (ctypes).
check-python: lib
	ZAB_LIBRARY=$(CURDIR)/$(B)/libzab.so.0 /usr/bin/python3 examples/python/test_zab.py

check-unit: unit
	@set -e; for t in $(UNIT_BIN) $(SRV_UNIT_BIN); do echo "== $$t"; CK_FORK=no $$t; done

check-scenarios: sim
	@B=$(B) sh test/sim/run-scenarios.sh
	@B=$(B) sh test/sim/run-regressions.sh

check-sweep: sim
	$(B)/zabsim --seeds $(SWEEP_SEEDS) --steps $(SWEEP_STEPS)

# The sanitizer build runs the unit tests, every scenario and a sweep.
check-asan:
	$(MAKE) B=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all" \
	    EXTRA_LDFLAGS="-fsanitize=address,undefined" \
	    SWEEP_SEEDS=$(ASAN_SWEEP_SEEDS) check-unit check-scenarios check-sweep \
	    check-kazoo check-tls
ASAN_SWEEP_SEEDS ?= 20001-20400

check-valgrind: unit
	@set -e; for t in $(UNIT_BIN) $(SRV_UNIT_BIN); do echo "== valgrind $$t"; \
	    CK_FORK=no valgrind -q --error-exitcode=99 --leak-check=full \
	    --errors-for-leak-kinds=definite,indirect $$t >/dev/null; done
	valgrind -q --error-exitcode=99 --leak-check=full \
	    --errors-for-leak-kinds=definite,indirect \
	    $(B)/zabsim --seeds 1-3 --steps 2000 >/dev/null

# Every exported symbol is zab_* and has a man page.
symbols: lib
	@sh test/symbols.sh $(B)/libzab.so.$(VERSION)

check-install: lib
	@rm -rf $(B)/stage
	$(MAKE) install DESTDIR=$(CURDIR)/$(B)/stage PREFIX=/usr >/dev/null
	@sh test/install-check.sh $(CURDIR)/$(B)/stage/usr

# Build dependencies: installed when run as root, else the exact command.
DEB_DEPS := build-essential check pkg-config valgrind clang libssl-dev \
            python3-kazoo libzookeeper-mt-dev zookeeper-bin zookeeper \
            python3-pytest python3-mock python3-objgraph libsqlite3-dev openssl
DEMO_DEPS := build-essential pkg-config libssl-dev python3-kazoo libzookeeper-mt-dev
deps:
	@sh test/deps.sh $(DEB_DEPS)

# ---- fuzzing (libFuzzer, clang) -------------------------------------------
# Runs on a scratch copy of the seed corpus; crashes land in $(B)/fuzz/.

FUZZ_SECONDS ?= 60
fuzz:
	@mkdir -p $(B)/fuzz
	clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Ilibzab \
	    -o $(B)/fuzz/fuzz_decode test/fuzz/fuzz_decode.c $(LIB_SRC)
	clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Ilibzab \
	    -o $(B)/fuzz/fuzz_recv test/fuzz/fuzz_recv.c $(LIB_SRC)
	clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Iexamples/server \
	    -o $(B)/fuzz/fuzz_jute test/fuzz/fuzz_jute.c examples/server/jute.c
	clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Iexamples/server \
	    -o $(B)/fuzz/fuzz_cmd test/fuzz/fuzz_cmd.c examples/server/cmd.c
	clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Iexamples/server \
	    -o $(B)/fuzz/fuzz_sasl test/fuzz/fuzz_sasl.c examples/server/sasl.c \
	    examples/server/jaas.c -lcrypto
	@rm -rf $(B)/fuzz/corpus && cp -r test/fuzz/corpus $(B)/fuzz/corpus
	$(B)/fuzz/fuzz_decode -max_total_time=$(FUZZ_SECONDS) -max_len=512 \
	    -artifact_prefix=$(B)/fuzz/ $(B)/fuzz/corpus
	$(B)/fuzz/fuzz_recv -max_total_time=$(FUZZ_SECONDS) -max_len=512 \
	    -artifact_prefix=$(B)/fuzz/ $(B)/fuzz/corpus
	@mkdir -p $(B)/fuzz/jute-corpus
	$(B)/fuzz/fuzz_jute -max_total_time=$(FUZZ_SECONDS) -max_len=512 \
	    -artifact_prefix=$(B)/fuzz/ $(B)/fuzz/jute-corpus
	$(B)/fuzz/fuzz_cmd -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	    -artifact_prefix=$(B)/fuzz/ $(B)/fuzz/corpus/cmd
	$(B)/fuzz/fuzz_sasl -max_total_time=$(FUZZ_SECONDS) -max_len=4200 \
	    -artifact_prefix=$(B)/fuzz/ $(B)/fuzz/corpus/sasl

# ---- bench and demo ---------------------------------------------------------

bench: $(B)/zabbench
	$(B)/zabbench
	$(MAKE) --no-print-directory bench-server

# zabd against Apache ZooKeeper 3.8, 3 nodes each on loopback, the same
# load from two generators: Apache's C client (test/bench/zkload.c) and
# the wire protocol spoken directly (test/bench/zkraw.c); medians and
# ratios (~4 min).  RUNS=5 for more runs per row.
BENCH_DEPS := build-essential libssl-dev libzookeeper-mt-dev zookeeper
bench-server: $(B)/zabd $(B)/zkload $(B)/zkraw
	@sh test/deps.sh $(BENCH_DEPS)
	@B=$(B) ZABD=$(CURDIR)/$(B)/zabd ZKLOAD=$(CURDIR)/$(B)/zkload \
	    ZKRAW=$(CURDIR)/$(B)/zkraw bash test/bench/server-bench.sh

$(B)/zkload: test/bench/zkload.c
	@mkdir -p $(B)
	$(CC) $(OPT) $(WARN) -D_POSIX_C_SOURCE=200809L -pthread -o $@ $< -lzookeeper_mt

# zkload on the single-threaded library (WORKLOADS=get-st); needs the
# runtime package libzookeeper-st2 (its -dev package conflicts with
# libzookeeper-mt-dev, whose headers serve both), linked by soname.
$(B)/zkload-st: test/bench/zkload.c
	@mkdir -p $(B)
	$(CC) $(OPT) $(WARN) -D_POSIX_C_SOURCE=200809L -DZKLOAD_ST -pthread -o $@ $< \
	    -l:libzookeeper_st.so.2

$(B)/zkraw: test/bench/zkraw.c
	@mkdir -p $(B)
	$(CC) $(OPT) $(WARN) -D_POSIX_C_SOURCE=200809L -o $@ $<

$(B)/zabbench: test/bench/bench.c $(B)/libzab.a
	@mkdir -p $(B)
	$(CC) -O2 -g -std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L \
	    -Iinclude -Ilibzab -o $@ $< $(B)/libzab.a

# The real thing: three zabd processes on loopback and members built on
# the recipes (master election, a lock, membership, a service registry);
# the zabd leader and then the master are SIGKILLed.  demo-zabd: the
# cluster alone under a write load (a Kazoo client); demo-sim: the same
# story inside the deterministic simulator.
demo:
	@sh test/deps.sh $(DEMO_DEPS)
	@$(MAKE) --no-print-directory zabd recipes
	@/usr/bin/python3 examples/recipes/demo.py $(B)

demo-zabd:
	@sh test/deps.sh $(DEMO_DEPS)
	@$(MAKE) --no-print-directory zabd
	@/usr/bin/python3 examples/demo/demo.py $(B)/zabd

demo-sim: sim
	@sh examples/demo-sim.sh $(B)/zabsim

# ---- install ----------------------------------------------------------------

SBINDIR ?= $(PREFIX)/sbin

install: lib zabd
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) \
	    $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 755 $(B)/zabd $(DESTDIR)$(SBINDIR)/zabd
	install -m 644 man/man5/*.5 $(DESTDIR)$(MANDIR)/man5/
	for f in man/man8/*.8; do [ -e "$$f" ] && install -m 644 "$$f" $(DESTDIR)$(MANDIR)/man8/ || true; done
	install -m 644 include/zab.h $(DESTDIR)$(INCLUDEDIR)/zab.h
	install -m 644 $(B)/libzab.a $(DESTDIR)$(LIBDIR)/libzab.a
	install -m 755 $(B)/libzab.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libzab.so.$(VERSION)
	ln -sf libzab.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libzab.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    libzab.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/libzab.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/libzab.pc
	install -m 644 man/man3/*.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 644 man/man7/*.7 $(DESTDIR)$(MANDIR)/man7/

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/zab.h $(DESTDIR)$(LIBDIR)/libzab.a \
	    $(DESTDIR)$(LIBDIR)/libzab.so* $(DESTDIR)$(PKGCONFIGDIR)/libzab.pc
	cd man/man3 && for f in *.3; do rm -f $(DESTDIR)$(MANDIR)/man3/$$f; done
	rm -f $(DESTDIR)$(MANDIR)/man7/libzab.7 $(DESTDIR)$(SBINDIR)/zabd \
	    $(DESTDIR)$(MANDIR)/man5/zabd.cfg.5 $(DESTDIR)$(MANDIR)/man8/zabd.8

clean:
	rm -rf build
