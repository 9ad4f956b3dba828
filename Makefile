# tsrun -- reach a userspace-mode tailnet from unmodified programs.
#
#   make            build build/libtsshim.so and build/tsrun
#   make test       install missing Debian packages, build, run unit + end-to-end tests
#   make demo       the whole path against the embedded local tailnet
#   make bench      side-by-side throughput / latency / overhead ratios
#   make install    PREFIX=/usr/local DESTDIR=
#   make asan tsan fuzz musl lint dist clean

VERSION   := 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
BINDIR    ?= $(PREFIX)/bin
LIBDIR    ?= $(PREFIX)/lib/tsrun
MANDIR    ?= $(PREFIX)/share/man

CC        ?= cc
B         ?= build
SAN       ?=
OPT       ?= -O2
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS    ?= $(OPT) -g
CPPFLAGS  += -D_GNU_SOURCE -DTSRUN_VERSION='"$(VERSION)"' -MMD -MP
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) $(if $(SAN),-fsanitize=$(SAN) -fno-omit-frame-pointer)
SAN_LD     = $(if $(SAN),-fsanitize=$(SAN))

# The shim: hooks export libc names; everything else is pure or internal
# code that unit tests and fuzzers link directly.
SHIM_HOOKS := connect getpeername sendto sendmsg getaddrinfo gethostbyname \
              getnameinfo gethostbyaddr read recv poll select getsockopt ioctl exec write
# common/: what the shim and the launcher must agree on (RFC 1928 messages,
# address classification); linked into both, hidden in the shim.
COMMON_SRC := $(wildcard common/*.c)
COMMON_PIC := $(COMMON_SRC:%.c=$(B)/pic/%.o)
COMMON_OBJ := $(COMMON_SRC:%.c=$(B)/obj/%.o)
SHIM_SRC   := $(wildcard shim/*.c)
SHIM_CORE  := $(filter-out $(addprefix shim/,$(addsuffix .c,$(SHIM_HOOKS))),$(SHIM_SRC))
SHIM_PIC   := $(SHIM_SRC:%.c=$(B)/pic/%.o)
SHIM_OBJ   := $(SHIM_CORE:%.c=$(B)/obj/%.o)

LAUNCHER_SRC  := $(wildcard launcher/*.c)
LAUNCHER_CORE := $(filter-out launcher/main.c,$(LAUNCHER_SRC))
LAUNCHER_OBJ  := $(LAUNCHER_CORE:%.c=$(B)/obj/%.o)
LAUNCHER_LIBS := $(shell pkg-config --libs libcurl jansson 2>/dev/null || echo -lcurl -ljansson)

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/unit/%)
PROG_SRC  := $(wildcard tests/progs/*.c)
PROG_BIN  := $(PROG_SRC:tests/progs/%.c=$(B)/tests/progs/%)
# musl: the shim and the name-resolution test clients built with musl-gcc
# (dynamic, /lib/ld-musl-x86_64.so.1), to prove libc's own freeaddrinfo()
# frees what the shim returns there too.
MUSL_CC   ?= musl-gcc
MUSL_PROGS := resolve hostent reverse
MUSL_BIN  := $(B)/musl/libtsshim.so $(MUSL_PROGS:%=$(B)/musl/progs/%)
MUSL_FLAGS = -std=c11 $(WARN) $(OPT) -g -D_GNU_SOURCE -DTSRUN_VERSION='"$(VERSION)"'
BENCH_SRC := $(wildcard bench/*.c)

.PHONY: all test unit e2e containers deps-containers demo deps-demo bench install uninstall clean asan tsan test-tsan fuzz fuzz-bins musl lint dist deps format
.DELETE_ON_ERROR:

all: $(B)/libtsshim.so $(B)/tsrun

$(B)/libtsshim.so: $(SHIM_PIC) $(COMMON_PIC)
	$(CC) -shared -fvisibility=hidden $(SAN_LD) -o $@ $^ -ldl $(LDFLAGS)

$(B)/tsrun: $(B)/obj/launcher/main.o $(LAUNCHER_OBJ) $(COMMON_OBJ)
	$(CC) $(SAN_LD) -o $@ $^ -Wl,--as-needed $(LAUNCHER_LIBS) -ldl $(LDFLAGS)

$(B)/pic/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -U_FORTIFY_SOURCE -Icommon -fPIC -fvisibility=hidden -c -o $@ $<

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -Icommon -Ishim -Ilauncher -c -o $@ $<

# Unit tests link the shim's and the launcher's internal code directly.
$(B)/tests/unit/%: tests/unit/%.c $(SHIM_OBJ) $(LAUNCHER_OBJ) $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -Icommon -Ishim -Ilauncher -o $@ $(filter %.c %.o,$^) \
	    -lcriterion $(LAUNCHER_LIBS) -ldl -lpthread $(SAN_LD)

# Small programs the end-to-end tests drive (probes, fault servers).
$(B)/tests/progs/%: tests/progs/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $< -lpthread $(SAN_LD)

# Programs that read the name map's format link common/ too.
$(B)/tests/progs/namesdump $(B)/tests/progs/namesbench: $(B)/tests/progs/%: tests/progs/%.c $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -Icommon -o $@ $(filter %.c %.o,$^) -lpthread $(SAN_LD)

$(B)/musl/libtsshim.so: $(SHIM_SRC) $(COMMON_SRC) $(wildcard shim/*.h common/*.h)
	@mkdir -p $(@D)
	$(MUSL_CC) $(MUSL_FLAGS) -Icommon -fPIC -fvisibility=hidden -shared -o $@ $(SHIM_SRC) $(COMMON_SRC)

$(B)/musl/progs/%: tests/progs/%.c
	@mkdir -p $(@D)
	$(MUSL_CC) $(MUSL_FLAGS) -o $@ $< -lpthread

musl: $(MUSL_BIN)

$(B)/tsbench: $(BENCH_SRC)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $(filter %.c,$^) $(LAUNCHER_LIBS) -lpthread -lm

deps:
	@tests/deps

test: deps
	@$(MAKE) --no-print-directory all-tests
	@B=$(B) tests/run

all-tests: all $(UNIT_BIN) $(PROG_BIN) $(MUSL_BIN)

unit: all-tests
	@B=$(B) tests/run unit

e2e: all-tests
	@B=$(B) tests/run e2e

# tests/e2e/test_containers.sh with the real runtimes installed
# (tests/packages-containers.txt: not part of `make test`, see there).
containers: deps deps-containers
	@$(MAKE) --no-print-directory all-tests
	@TSRUN_CONTAINERS=1 B=$(B) tests/e2e/run $(B)/e2e-counts tests/e2e/test_containers.sh

deps-containers:
	@tests/deps --no-start tests/packages-containers.txt

# Only what the demo runs (tests/packages-demo.txt), not the test toolchain.
demo: deps-demo
	@$(MAKE) --no-print-directory all
	@B=$(B) tests/bed/demo

deps-demo:
	@tests/deps tests/packages-demo.txt

bench: deps all $(PROG_BIN) $(B)/tsbench
	@B=$(B) bench/run

# Fuzzing (libFuzzer + ASan/UBSan, clang): each fuzz/fuzz_T.c links the
# shim's and the launcher's pure code; `make fuzz` runs every target for
# FUZZ_SECONDS on a scratch copy of fuzz/corpus/T and fails on any crash.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := socks5 names config status settle route
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(B)/fuzz/fuzz_%)

$(B)/fuzz/fuzz_%: fuzz/fuzz_%.c $(SHIM_OBJ) $(LAUNCHER_OBJ) $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -Icommon -Ishim -Ilauncher -fsanitize=fuzzer -o $@ $(filter %.c %.o,$^) \
	    $(LAUNCHER_LIBS) -ldl -lpthread $(SAN_LD)

fuzz-bins: $(FUZZ_BIN) $(SHIM_OBJ) $(LAUNCHER_OBJ) $(COMMON_OBJ)

fuzz:
	@$(MAKE) --no-print-directory B=build/fuzz CC=clang SAN=fuzzer-no-link,address,undefined \
	    CFLAGS='-O1 -g -fno-sanitize-recover=all' fuzz-bins
	@B=build/fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run $(FUZZ_TARGETS)

# Sanitizer builds live in their own build directories.
# asan: ASan+UBSan (any report fails), unit + e2e; the e2e tests preload
# the shim as $$SHIM_PRELOAD (libasan first, see tests/e2e/lib.sh).
asan:
	@UBSAN_OPTIONS=print_stacktrace=1 $(MAKE) --no-print-directory B=build/asan \
	    SAN=address,undefined CFLAGS='-O1 -g -fno-sanitize-recover=all' test
# tsan: the TSan (clang) shim preloaded into the TSan-instrumented stress
# program and asyncprobe (8 threads reading one pending socket;
# tests/e2e/test_stress.sh), which carry the runtime. Criterion
# cannot run under TSan ("Could not initialize inheritable arena",
# Snaipe/Criterion#274), so the unit tests run under ASan only.
tsan:
	@TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 $(MAKE) --no-print-directory \
	    B=build/tsan SAN=thread CC=clang CFLAGS='-O1 -g' test-tsan

test-tsan:
	@$(MAKE) --no-print-directory $(B)/libtsshim.so $(B)/tests/progs/stress $(B)/tests/progs/asyncprobe
	@B=$(B) tests/e2e/run $(B)/e2e-counts tests/e2e/test_stress.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(B)/tsrun $(DESTDIR)$(BINDIR)/tsrun
	install -m 0644 $(B)/libtsshim.so $(DESTDIR)$(LIBDIR)/libtsshim.so
	if [ -f docs/tsrun.1 ]; then install -m 0644 docs/tsrun.1 $(DESTDIR)$(MANDIR)/man1/tsrun.1; fi
	if [ -f $(B)/musl/libtsshim.so ]; then install -d $(DESTDIR)$(LIBDIR)/musl && \
	    install -m 0644 $(B)/musl/libtsshim.so $(DESTDIR)$(LIBDIR)/musl/libtsshim.so; fi

# Refuses while /etc/ld.so.preload still names the shim (`tsrun install-preload`):
# the loader would print an error in every process on the machine.
uninstall:
	@if grep -Fqs -e '$(LIBDIR)/libtsshim.so' -e '$(LIBDIR)/musl/libtsshim.so' $(DESTDIR)/etc/ld.so.preload; then \
	    echo "make uninstall: $(DESTDIR)/etc/ld.so.preload still names $(LIBDIR)/libtsshim.so;" \
	         "removing it would break every program on this machine: run 'tsrun uninstall-preload'" \
	         "(as root) first, then make uninstall again" >&2; exit 1; fi
	rm -f $(DESTDIR)$(BINDIR)/tsrun $(DESTDIR)$(LIBDIR)/libtsshim.so \
	      $(DESTDIR)$(LIBDIR)/musl/libtsshim.so \
	      $(DESTDIR)$(MANDIR)/man1/tsrun.1
	-rmdir $(DESTDIR)$(LIBDIR)/musl $(DESTDIR)$(LIBDIR) 2>/dev/null

dist:
	@mkdir -p $(B)
	git archive --format=tar.gz --prefix=tsrun-$(VERSION)/ -o $(B)/tsrun-$(VERSION).tar.gz HEAD
	@echo $(B)/tsrun-$(VERSION).tar.gz

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	    --suppress=missingIncludeSystem -D_GNU_SOURCE -D__x86_64__ -D__linux__ common shim launcher
	clang-tidy --quiet $(COMMON_SRC) $(SHIM_SRC) $(LAUNCHER_SRC) -- -std=c11 $(filter-out -MMD -MP,$(CPPFLAGS)) \
	    -Icommon -Ishim -Ilauncher -isystem $(shell clang -print-resource-dir)/include

format:
	clang-format -i common/*.[ch] shim/*.[ch] launcher/*.[ch] tests/unit/*.c tests/progs/*.c bench/*.c

clean:
	rm -rf build

-include $(shell find $(B) -name '*.d' 2>/dev/null)
