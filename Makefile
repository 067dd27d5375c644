# wakewordd build. `make` builds the library and the binary into build/,
# `make check` runs every test twice: as built, then under ASan+UBSan (build-asan/).
# Sources are found by wildcard: a new .c file in a module folder is built
# without touching this file. Per-ISA kernel files are named *_avx2.c,
# *_avxvnni.c, *_avx512*.c, *_neon*.c and get their -m flags here and nowhere else.

CC       ?= cc
PREFIX   ?= /usr/local
DESTDIR  ?=
SAN      ?= 0
FUZZ     ?= 0
ifeq ($(FUZZ),1)
# libFuzzer build: clang, every object instrumented, targets linked with the fuzzer main
override CC := clang
BUILD    ?= build-fuzz
endif
BUILD    ?= $(if $(filter 1,$(SAN)),build-asan,build)
ARCH     := $(shell $(CC) -dumpmachine | cut -d- -f1)

PKGS      := alsa fftw3 sndfile soxr libprotobuf-c libsystemd

# A fresh machine gets its Debian packages here, before pkg-config is asked for
# flags; the stamp makes later runs skip even the dpkg queries.
DEPS_STAMP := build/.deps-ok
ifeq ($(filter clean format,$(MAKECMDGOALS)),)
ifeq ($(shell [ $(DEPS_STAMP) -nt scripts/install-deps.sh ] && echo ok),)
$(shell scripts/install-deps.sh >&2 && mkdir -p build && touch $(DEPS_STAMP))
endif
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

OPT      ?= -O2
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE $(OPT) -g -fPIC -pthread $(WARN) -I. -I$(BUILD)/gen \
             $(PKG_CFLAGS) $(SANFLAGS) $(CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lm -pthread $(LDLIBS)
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT      := -O1
endif
ifeq ($(FUZZ),1)
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT      := -O1
endif
LDFLAGS_ALL = $(SANFLAGS) $(LDFLAGS)

ONNX_PROTO := /usr/include/onnx/onnx.proto
GEN_C      := $(BUILD)/gen/onnx.pb-c.c
GEN_H      := $(BUILD)/gen/onnx.pb-c.h

ifeq ($(ARCH),x86_64)
ISA_EXCLUDE := %_neon.c %_neondot.c
else ifeq ($(ARCH),aarch64)
ISA_EXCLUDE := %_avx2.c %_avxvnni.c %_avx512vnni.c %_avx512.c
else
ISA_EXCLUDE := %_neon.c %_neondot.c %_avx2.c %_avxvnni.c %_avx512vnni.c %_avx512.c
endif

LIB_SRCS := $(filter-out $(ISA_EXCLUDE),$(wildcard core/*.c dsp/*.c nn/*.c nn/kernels/*.c \
              nn/kernels/*/*.c quant/*.c))
BIN_SRCS := $(wildcard cli/*.c daemon/*.c)
TEST_SRCS := $(wildcard tests/unit/test_*.c)
BENCH_SRCS := $(wildcard bench/bench_*.c)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
TEST_SUPPORT := $(filter-out $(TEST_SRCS),$(wildcard tests/unit/*.c))

LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/gen/onnx.pb-c.o
BIN_OBJS := $(BIN_SRCS:%.c=$(BUILD)/%.o)
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
# the same targets with an ordinary main (tests/fuzz/replay_main.c), built by
# gcc in build/ and build-asan/ to replay tests/fuzz/regressions/ in make check
REPLAY_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz-replay/%)
TEST_SUPPORT_OBJS := $(TEST_SUPPORT:%.c=$(BUILD)/%.o)

# daemon objects other than the entry points, so tests can link the daemon's parts
DAEMON_LIB_OBJS := $(filter-out $(BUILD)/cli/main.o,$(BIN_OBJS))

STATIC_LIB := $(BUILD)/libwakeword.a
SHARED_LIB := $(BUILD)/libwakeword.so
BIN        := $(BUILD)/wakewordd
.PHONY: all deps check test bench demo install clean format fixtures
# keep intermediate objects (test support files) between runs
.SECONDARY:
all: $(BIN) $(STATIC_LIB) $(SHARED_LIB)

deps:
	@scripts/install-deps.sh && mkdir -p build && touch $(DEPS_STAMP)

$(GEN_C) $(GEN_H) &: $(ONNX_PROTO)
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen --proto_path=$(dir $(ONNX_PROTO)) $(ONNX_PROTO)

# generated code is not ours to warn about
$(BUILD)/gen/onnx.pb-c.o: $(GEN_C)
	$(CC) -std=c11 $(OPT) -g -fPIC $(PKG_CFLAGS) $(SANFLAGS) -w -c $< -o $@

$(BUILD)/%_avx2.o: CFLAGS_ISA := -mavx2 -mfma
$(BUILD)/%_avxvnni.o: CFLAGS_ISA := -mavx2 -mfma -mavxvnni
$(BUILD)/%_avx512vnni.o: CFLAGS_ISA := -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mfma
$(BUILD)/%_avx512.o: CFLAGS_ISA := -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma
$(BUILD)/%_neondot.o: CFLAGS_ISA := -march=armv8.2-a+dotprod

$(BUILD)/%.o: %.c $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CFLAGS_ISA) -MMD -MP -c $< -o $@

$(STATIC_LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(SHARED_LIB): $(LIB_OBJS)
	$(CC) -shared $(LDFLAGS_ALL) -Wl,-soname,libwakeword.so.0 -o $@ $^ $(LDLIBS_ALL)

$(BIN): $(BIN_OBJS) $(STATIC_LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $(BIN_OBJS) $(STATIC_LIB) $(LDLIBS_ALL)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(TEST_SUPPORT_OBJS) $(DAEMON_LIB_OBJS) $(STATIC_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(TEST_SUPPORT_OBJS) $(filter-out $(BUILD)/cli/%,$(DAEMON_LIB_OBJS)) \
	  $(STATIC_LIB) $(LDLIBS_ALL)

$(BUILD)/fuzz/%: $(BUILD)/tests/fuzz/%.o $(DAEMON_LIB_OBJS) $(STATIC_LIB)
	@mkdir -p $(dir $@)
	$(CC) -fsanitize=fuzzer,address,undefined -o $@ $< $(filter-out $(BUILD)/cli/%,$(DAEMON_LIB_OBJS)) \
	  $(STATIC_LIB) $(LDLIBS_ALL)

$(BUILD)/fuzz-replay/%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/replay_main.o $(DAEMON_LIB_OBJS) \
                        $(STATIC_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(BUILD)/tests/fuzz/replay_main.o \
	  $(filter-out $(BUILD)/cli/%,$(DAEMON_LIB_OBJS)) $(STATIC_LIB) $(LDLIBS_ALL)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(STATIC_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(STATIC_LIB) $(LDLIBS_ALL)

test: all $(TEST_BINS)
	@tests/run.sh $(BUILD)

# The README's test command: the suite as built, then again under sanitizers.
check:
	@scripts/install-deps.sh --cross
	@scripts/install-deps.sh --fixtures || \
	  echo "make check: the torch stack did not install; the tests that need it report skipped" >&2
	@if [ -x scripts/install-ort.sh ]; then scripts/install-ort.sh; fi
	@$(MAKE) --no-print-directory SAN=0 all tests-built
	@$(MAKE) --no-print-directory SAN=1 all tests-built
	@$(MAKE) --no-print-directory fuzz-check-built
	@FUZZ_CHECK_SECONDS=$(FUZZ_CHECK_SECONDS) FUZZ_SEED=$(FUZZ_CHECK_SEED) tests/run.sh build build-asan

.PHONY: tests-built
tests-built: $(TEST_BINS) $(REPLAY_BINS)

bench: all $(BENCH_BINS)
	@scripts/bench.sh $(BUILD)

# libFuzzer targets (tests/fuzz/fuzz_*.c), FUZZ_SECONDS each (FUZZ_FILTER=regex picks some);
# inputs that once crashed are kept in tests/fuzz/regressions/<target>/ and replayed by unit tests
FUZZ_SECONDS ?= 60
fuzz:
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-built
	@scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS)

.PHONY: fuzz fuzz-built fuzz-check-built
fuzz-built: $(FUZZ_BINS)

# make check: every target runs FUZZ_CHECK_SECONDS (0: none) as one test each
# (tests/run.sh); where clang cannot link libFuzzer the run is reported skipped.
FUZZ_CHECK_SECONDS ?= 20
# ... from a fixed seed, so that check walks the same first inputs on every
# machine (a CI failure reproduces; a new bug found at random is `make fuzz`'s
# job, whose seed varies). Empty: a random seed.
FUZZ_CHECK_SEED ?= 1
fuzz-check-built:
	@mkdir -p build-fuzz/fuzz && rm -f build-fuzz/fuzz/.unsupported
	@if [ "$(FUZZ_CHECK_SECONDS)" = 0 ]; then :; \
	elif ! printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n; }\n' | \
	    clang -x c -fsanitize=fuzzer,address,undefined - -o build-fuzz/fuzz/.probe >/dev/null 2>&1; then \
	  echo "clang with libFuzzer (-fsanitize=fuzzer) is not available" >build-fuzz/fuzz/.unsupported; \
	else $(MAKE) --no-print-directory FUZZ=1 fuzz-built; fi
	@rm -f build-fuzz/fuzz/.probe

demo: all
	@scripts/demo.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/wakeword
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/wakewordd
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(PREFIX)/lib/libwakeword.a
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(PREFIX)/lib/libwakeword.so.0
	ln -sf libwakeword.so.0 $(DESTDIR)$(PREFIX)/lib/libwakeword.so
	for d in core dsp nn quant; do \
	  install -d $(DESTDIR)$(PREFIX)/include/wakeword/$$d; \
	  for h in $$d/*.h; do [ -f "$$h" ] && install -m 644 $$h $(DESTDIR)$(PREFIX)/include/wakeword/$$d/; done; \
	done; true
	@if [ -x scripts/install-etc.sh ]; then scripts/install-etc.sh "$(DESTDIR)" "$(PREFIX)"; fi

format:
	clang-format -i $(wildcard */*.c */*.h */*/*.c */*/*.h */*/*/*.c)

# the committed test fixtures, remade by tests/gen/Makefile (its header lists them)
fixtures:
	scripts/install-deps.sh --fixtures
	$(MAKE) -C tests/gen

clean:
	rm -rf build build-asan build-fuzz build-clang

-include $(LIB_OBJS:.o=.d) $(BIN_OBJS:.o=.d) $(TEST_BINS:$(BUILD)/tests/%=$(BUILD)/tests/unit/%.d) \
  $(BENCH_BINS:%=%.d) $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/tests/fuzz/%.d)
