# berth — one binary, build/berth.
#
#   make run    install what is missing, build, start a single-node cluster and show it working
#   make stop   stop that cluster
#   make test   install what is missing, build with ASan+UBSan, run every test
#   make bench  benchmarks side by side with crun (results: docs/benchmarks.md)
#
# Two builds live side by side: build/berth (optimised) and build/asan/berth
# (sanitised, what the tests run). The per-container monitor and the exec stub
# are small static programs embedded into berth (src/runtime/embed.S).

SHELL     := /bin/bash
MAKEFLAGS += -j$(shell nproc)
CC        ?= gcc
PKGS      := jansson libseccomp libcap nettle
# Headers only: libarchive is dlopen()ed on first use (src/image/archive_dl.h), and so are
# libmicrohttpd and GnuTLS, which only `berth server` needs (src/net/mhd_dl.h), and so is
# SQLite (src/store/sqlite_dl.h), and so are libcurl, the HTTPS client of the agent and the
# CLI (src/net/curl_dl.h), libyaml (src/api/yaml_dl.h) and libmnl (src/net/mnl_dl.h).
# The unit tests link SQLite to inspect store files.
HDR_PKGS  := libarchive libmicrohttpd gnutls libcurl yaml-0.1 libmnl
CFLAGS_COMMON := -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Isrc -D_GNU_SOURCE \
                 -MMD -MP $(shell pkg-config --cflags $(PKGS) $(HDR_PKGS) 2>/dev/null)
LIBS      := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
REL_FLAGS := -O2 -g
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

MAIN_SRC  := src/main.c
LIB_SRC   := $(filter-out $(MAIN_SRC),$(shell find src -name '*.c' -not -path 'src/runtime/monitor/*' \
                 -not -path 'src/runtime/stub/*' | sort))
UNIT_SRC  := $(sort $(wildcard tests/unit/*.c))
MON_SRC   := $(sort $(wildcard src/runtime/monitor/*.c))
STUB_SRC  := src/runtime/stub/stub.c

REL_OBJ   := $(patsubst %.c,build/rel/%.o,$(LIB_SRC))
SAN_OBJ   := $(patsubst %.c,build/asan/obj/%.o,$(LIB_SRC))
UNIT_OBJ  := $(patsubst %.c,build/asan/obj/%.o,$(UNIT_SRC))

.PHONY: all build deps run stop test unit e2e bench fmt clean images

all: build
build: build/berth build/asan/berth images build/bench-hollow

# ---- dependencies (Debian packages; quiet when nothing is missing) --------
DEB_PKGS := build-essential pkg-config libjansson-dev libarchive-dev libseccomp-dev libcap-dev \
            libcriterion-dev libzstd-dev zlib1g-dev nettle-dev libsqlite3-dev libmicrohttpd-dev libgnutls28-dev libcurl4-gnutls-dev libyaml-dev libmnl-dev busybox-static crun hyperfine skopeo etcd-server \
            iproute2 zstd clang-format python3 procps psmisc util-linux openssl
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing" $$missing; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# ---- embedded helpers ------------------------------------------------------
build/monitor: $(MON_SRC) $(wildcard src/runtime/monitor/*.h) src/runtime/monitor_proto.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Isrc -D_GNU_SOURCE -Os -static \
	    -o $@ $(MON_SRC)
	strip $@

build/stub: $(STUB_SRC)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -Wall -Wextra -Werror -Os -static -nostdlib -ffreestanding -fno-stack-protector \
	    -fno-asynchronous-unwind-tables -fno-builtin -Wl,--build-id=none -o $@ $<
	strip $@

build/rel/src/runtime/embed.o build/asan/obj/src/runtime/embed.o: build/monitor build/stub
build/rel/%.o: %.S
	@mkdir -p $(@D)
	$(CC) -c -Ibuild -o $@ $<
build/asan/obj/%.o: %.S
	@mkdir -p $(@D)
	$(CC) -c -Ibuild -o $@ $<

# ---- berth -----------------------------------------------------------------
EMBED_REL := build/rel/src/runtime/embed.o
EMBED_SAN := build/asan/obj/src/runtime/embed.o

build/rel/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) $(REL_FLAGS) -c -o $@ $<
build/asan/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) $(SAN_FLAGS) -c -o $@ $<

build/berth: $(REL_OBJ) build/rel/src/main.o $(EMBED_REL)
	$(CC) $(REL_FLAGS) -o $@ $^ $(LIBS)
build/asan/berth: $(SAN_OBJ) build/asan/obj/src/main.o $(EMBED_SAN)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS)
build/asan/unit-tests: $(SAN_OBJ) $(UNIT_OBJ) $(EMBED_SAN)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS) -lcriterion -lsqlite3

# The fuzzer of tests/fuzz/run.sh. The decoders it drives are compiled again with
# -fsanitize-coverage=trace-pc, so that it keeps the inputs that reach new code.
build/asan/fuzz-decode: tests/fuzz/fuzz_decode.c $(wildcard src/api/*.[ch]) src/server/route.c \
                        src/server/server.h $(filter build/asan/obj/src/base/%,$(SAN_OBJ))
	@mkdir -p build/asan/fuzz
	$(CC) $(filter-out -MMD -MP,$(CFLAGS_COMMON)) $(SAN_FLAGS) -c -o build/asan/fuzz/driver.o $<
	$(CC) $(filter-out -MMD -MP,$(CFLAGS_COMMON)) $(SAN_FLAGS) -fsanitize-coverage=trace-pc -o $@ \
	    build/asan/fuzz/driver.o $(wildcard src/api/*.c) src/server/route.c \
	    $(filter build/asan/obj/src/base/%,$(SAN_OBJ)) $(LIBS)

# The load generators of bench/ (bench/NAME.c and bench/loadgen.c over berth's base and its
# HTTPS client, optimised): bench/*.sh build them through bench/api_lib.sh's build_loadgen, and
# `make build` builds bench-hollow, the hollow nodes tests/e2e/t_hollow.sh runs.
BENCH_LG  := api pods hollow sched
BENCH_OBJ := $(patsubst %,build/rel/bench/%.o,$(BENCH_LG) loadgen)
$(addprefix build/bench-,$(BENCH_LG)): build/bench-%: build/rel/bench/%.o build/rel/bench/loadgen.o \
                                      $(filter build/rel/src/base/%,$(REL_OBJ)) \
                                      build/rel/src/net/client.o build/rel/src/net/curl_dl.o
	$(CC) $(REL_FLAGS) -o $@ $^ $(shell pkg-config --libs jansson 2>/dev/null) -ldl -lpthread

# The offline image: Debian's busybox-static as an OCI image layout.
images: build/images/busybox.tar
build/images/busybox.tar: build/berth tools/mkbusybox.sh
	tools/mkbusybox.sh build/berth $@

# ---- the two commands ------------------------------------------------------
run: deps
	@$(MAKE) --no-print-directory build/berth images
	@tools/demo.sh build/berth

# Stops the cluster `make run` started (its pods' containers stay until deleted).
stop:
	@tools/demo.sh build/berth --stop

test: deps
	@$(MAKE) --no-print-directory build build/asan/unit-tests
	@tests/run.sh

unit: build/asan/unit-tests build/asan/berth
	BERTH_EXE=$(CURDIR)/build/asan/berth build/asan/unit-tests
e2e: build
	tests/e2e/run.sh

bench: deps
	@$(MAKE) --no-print-directory build/berth images
	bench/run.sh

fmt:
	clang-format -i $$(find src tests bench -name '*.[ch]')

clean:
	rm -rf build

-include $(REL_OBJ:.o=.d) $(SAN_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(BENCH_OBJ:.o=.d) build/rel/src/main.d build/asan/obj/src/main.d
