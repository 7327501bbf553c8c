# SPDX-License-Identifier: Apache-2.0
# dcmvault build.  `make` builds build/dcmvault; `make check` runs every test;
# `make fuzz` runs the libFuzzer targets; `make bench` the benchmarks; `make lint` the linters.

CC       ?= gcc
PKGS     := libsodium sqlite3 zlib libjpeg libopenjp2 charls libpng16 inih libcrypto libssl freetype2 liboath tesseract lept
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS)) -lm -lpthread
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wswitch-enum -Wvla -Wformat=2 -Wno-missing-field-initializers
CSTD     := -std=c11 -D_GNU_SOURCE
# the default rule regions for burned-in text (src/deid/pixels.h), wherever the binary runs from
DEFS     := -DDEID_RULES_PATH='"$(CURDIR)/data/deid/pixel-rules.tsv"'
OPT      ?= -O2 -g
CFLAGS_ALL = $(CSTD) $(DEFS) $(OPT) $(WARN) -Isrc -Ibuild/gen $(PKG_CFLAGS) $(CFLAGS)

B        := build
GEN_C    := $(B)/gen/dict_gen.c $(B)/gen/common_pw_gen.c $(B)/gen/deid_gen.c
LIB_SRC  := $(filter-out src/cli/main.c,$(shell find src -name '*.c' | sort))
LIB_OBJ  := $(patsubst src/%.c,$(B)/obj/%.o,$(LIB_SRC)) $(patsubst $(B)/gen/%.c,$(B)/obj/gen/%.o,$(GEN_C))
ASAN_OBJ := $(patsubst src/%.c,$(B)/asan/%.o,$(LIB_SRC)) $(patsubst $(B)/gen/%.c,$(B)/asan/gen/%.o,$(GEN_C))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(patsubst tests/unit/%.c,$(B)/asan/tests/%,$(UNIT_SRC))
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BIN := $(patsubst fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRC))
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

.SECONDARY:

.PHONY: all check unit integration fuzz fuzz-build fuzz-smoke bench lint format deps demo clean

all: $(B)/dcmvault

deps:
	bash scripts/deps.sh

# generated code: produced by the build from data, never committed
$(B)/gen/dict_gen.c: data/dicom-dictionary.tsv tools/gen_dict.py
	@mkdir -p $(dir $@)
	python3 tools/gen_dict.py $< $@

$(B)/gen/common_pw_gen.c: data/common-passwords.txt tools/gen_common_pw.py
	@mkdir -p $(dir $@)
	python3 tools/gen_common_pw.py c $< $@

$(B)/gen/deid_gen.c: data/deid/ps3.15-table-e1-1.csv data/deid/safe-private.tsv tools/gen_deid.py
	@mkdir -p $(dir $@)
	python3 tools/gen_deid.py data/deid/ps3.15-table-e1-1.csv data/deid/safe-private.tsv $@

$(B)/obj/gen/%.o: $(B)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Wno-missing-prototypes -c $< -o $@

$(B)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(B)/libdcmvault.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/dcmvault: $(B)/obj/cli/main.o $(B)/libdcmvault.a
	$(CC) $(CFLAGS_ALL) $^ $(PKG_LIBS) $(LDFLAGS) -o $@

# ---- sanitizer build for the unit tests -------------------------------------------------
$(B)/asan/gen/%.o: $(B)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(SAN) -Wno-missing-prototypes -c $< -o $@

$(B)/asan/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(SAN) -MMD -MP -c $< -o $@

$(B)/asan/libdcmvault.a: $(ASAN_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/asan/tests/%: tests/unit/%.c $(B)/asan/libdcmvault.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(SAN) -Wno-missing-prototypes -Itests $< $(B)/asan/libdcmvault.a \
	  $(PKG_LIBS) $(shell pkg-config --libs cmocka) $(LDFLAGS) -o $@

$(B)/asan/dcmvault: $(B)/asan/cli/main.o $(B)/asan/libdcmvault.a
	$(CC) $(CFLAGS_ALL) $(SAN) $^ $(PKG_LIBS) $(LDFLAGS) -o $@

# ---- tests ------------------------------------------------------------------------------
check: $(B)/dcmvault $(B)/asan/dcmvault $(UNIT_BIN) fuzz-build
	bash tests/run.sh

unit: $(UNIT_BIN)
	bash tests/run.sh --unit-only

# ---- fuzzing (clang + libFuzzer) ---------------------------------------------------------
FUZZ_CFLAGS = $(CSTD) -O1 -g -fsanitize=fuzzer-no-link,address,undefined -Isrc -Ibuild/gen \
              $(PKG_CFLAGS) -Wall -Wextra -Werror -Wno-missing-field-initializers
FUZZ_OBJ := $(patsubst src/%.c,$(B)/fuzzobj/%.o,$(LIB_SRC)) \
            $(patsubst $(B)/gen/%.c,$(B)/fuzzobj/gen/%.o,$(GEN_C))

$(B)/fuzzobj/gen/%.o: $(B)/gen/%.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -c $< -o $@

$(B)/fuzzobj/%.o: src/%.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(B)/fuzz/%: fuzz/%.c $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJ) $(PKG_LIBS) -o $@

fuzz-build: $(FUZZ_BIN)

FUZZ_SECONDS ?= 300
fuzz: fuzz-build
	bash fuzz/run.sh $(FUZZ_SECONDS)

# ---- benchmarks, lint, demo -------------------------------------------------------------
bench: $(B)/dcmvault
	bash bench/run.sh

lint: $(GEN_C)
	bash tools/lint.sh

format:
	clang-format -i $$(find src tests/unit fuzz -name '*.[ch]')

demo: $(B)/dcmvault
	$(B)/dcmvault demo

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
