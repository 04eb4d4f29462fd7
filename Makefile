# pgdrill — the one Makefile.
#
#   make            build build/pgdrill and the sandbox Neon server
#   make check      install what is missing, build, start test services, run every test
#   make demo       install what is missing, build, open the TUI on a runbook
#   make check-asan the same tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make check-valgrind  only the valgrind memcheck part of check
#   make analyze    cppcheck and clang-tidy (.clang-tidy) over every C source; a finding fails
#   make bench      run the benchmarks in bench/ (slow; starts its own services)
#   make install PREFIX=/usr/local
#   V=1             show the full commands

VERSION   := 0.1.0
PREFIX    ?= /usr/local
BUILD     ?= build
CC        ?= cc

# Libraries are looked up lazily (=, not :=) so `make deps` can install them
# before a sub-make first needs the flags.
PKGS       = libcmark libpq libcurl libcjson zlib expat openssl ncursesw
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror
WARN += -Wformat=2                # printf formats, incl. non-literal ones
WARN += -Wformat-signedness       # %d vs unsigned
WARN += -Wformat-overflow=2       # sprintf into too-small buffers
WARN += -Wshadow                  # a local hiding another name
WARN += -Wcast-qual               # casting const away
WARN += -Wconversion              # implicit narrowing and sign changes
WARN += -Wstrict-prototypes       # f() must be f(void)
WARN += -Wmissing-prototypes      # extern function without a header declaration
WARN += -Wredundant-decls         # the same declaration twice
WARN += -Wwrite-strings           # string literals are const char[]
WARN += -Wundef                   # #if on an undefined macro
WARN += -Wvla                     # no variable-length arrays
WARN += -Wpointer-arith           # arithmetic on void *
WARN += -Wduplicated-cond         # if (a) ... else if (a)
WARN += -Wduplicated-branches     # both branches identical
WARN += -Wnull-dereference        # provable NULL dereference
WARN += -Wimplicit-fallthrough=3  # switch fallthrough must be annotated

OPT       ?= -O2 -g -D_FORTIFY_SOURCE=2
CPPFLAGS  += -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DPD_VERSION='"$(VERSION)"' -Icore
CFLAGS    += -std=c11 $(WARN) $(OPT) -MMD -MP
LDLIBS    += -lpthread -lm

ifeq ($(V),1)
Q :=
msg = @:
else
Q := @
msg = @printf '  %-6s %s\n' $(1) $(2);
endif

CORE_SRC := $(shell find core -name '*.c' | sort)
TUI_SRC  := $(sort $(wildcard tui/*.c))
CLI_SRC  := $(sort $(wildcard cli/*.c))
NEONSB_SRC := $(sort $(wildcard sandbox/neon-sandbox/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/*_test.c))
TESTLIB_SRC := $(sort $(wildcard tests/unit/support/*.c))

CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
TUI_OBJ  := $(TUI_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
NEONSB_OBJ := $(NEONSB_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:%.c=$(BUILD)/%)
TESTLIB_OBJ := $(TESTLIB_SRC:%.c=$(BUILD)/%.o)

# cli/ sees the TUI's entry header; nothing else does.
$(CLI_OBJ): CPPFLAGS += -Itui

LIB      := $(BUILD)/libpgdrill.a
BIN      := $(BUILD)/pgdrill
NEONSB   := $(if $(NEONSB_SRC),$(BUILD)/neon-sandbox)

.SECONDARY:

.PHONY: all deps check check-asan check-valgrind demo install clean layering test-bins run-tests format-check analyze bench

all: $(BIN) $(NEONSB)

$(BUILD)/%.o: %.c
	$(call msg,CC,$<)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB): $(CORE_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(TUI_OBJ) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(TUI_OBJ) $(LIB) $(PKG_LIBS) $(LDLIBS)

$(BUILD)/neon-sandbox: $(NEONSB_OBJ) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(NEONSB_OBJ) $(LIB) $(PKG_LIBS) \
		$$(pkg-config --libs libmicrohttpd) $(LDLIBS)

# Unit tests: one binary per tests/unit/*_test.c, linked with core and cmocka.
# Tests that need the TUI link the TUI objects too (the TUI has no main()).
$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(TESTLIB_OBJ) $(TUI_OBJ) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(TESTLIB_OBJ) $(TUI_OBJ) $(LIB) $(PKG_LIBS) \
		$$(pkg-config --libs cmocka) $(LDLIBS)

test-bins: all $(UNIT_BIN)

# core/ never draws; tui/ never talks to a service library directly.
layering:
	@bad=$$(grep -rlE '#include *[<"](n?curses|panel|menu|form)\.h' core || true); \
	 if [ -n "$$bad" ]; then echo "layering: curses included in core/: $$bad"; exit 1; fi
	@bad=$$(grep -rlE '#include *[<"](curl/curl|libpq-fe|cjson/cJSON|cJSON|zlib|expat)\.h' tui || true); \
	 if [ -n "$$bad" ]; then echo "layering: service library included in tui/: $$bad"; exit 1; fi
	@echo "layering: ok"

deps:
	@scripts/deps.sh

# The two commands the README shows.
check: deps
	@$(MAKE) --no-print-directory layering
	@$(MAKE) --no-print-directory test-bins
	@$(MAKE) --no-print-directory run-tests

run-tests:
	@BUILD=$(BUILD) tests/run.sh

check-asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan \
		OPT='-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1' \
		LDFLAGS='-fsanitize=address,undefined' test-bins
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(MAKE) --no-print-directory BUILD=build-asan run-tests

# Memcheck (not part of check: 5 to 7 minutes): tests/valgrind.sh, with the
# suppressions of tests/valgrind.supp (third-party one-time init only).
check-valgrind: deps
	@$(MAKE) --no-print-directory test-bins
	@BUILD=$(BUILD) tests/valgrind.sh

# Benchmarks (not part of check): every executable bench/* in turn.
bench: all ; @for b in bench/*; do if [ -f "$$b" ] && [ -x "$$b" ]; then "$$b" || exit 1; fi; done

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh $(BUILD)/pgdrill

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/pgdrill/runbooks \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/pgdrill
	$(if $(NEONSB),install -m 0755 $(NEONSB) $(DESTDIR)$(PREFIX)/bin/pgdrill-neon-sandbox)
	install -m 0644 runbooks/*.md $(DESTDIR)$(PREFIX)/share/pgdrill/runbooks/
	install -d $(DESTDIR)$(PREFIX)/share/pgdrill/sandbox
	install -m 0755 sandbox/sandbox.sh sandbox/pg-cluster.sh $(DESTDIR)$(PREFIX)/share/pgdrill/sandbox/
	install -m 0644 sandbox/seed.sql tests/fixtures/sql/care-commons-schema.sql \
		$(DESTDIR)$(PREFIX)/share/pgdrill/sandbox/
	$(if $(wildcard sandbox/s3-proxy.py),install -m 0755 sandbox/s3-proxy.py $(DESTDIR)$(PREFIX)/share/pgdrill/sandbox/)
	$(if $(wildcard sandbox/package-lock.json),install -m 0644 sandbox/package.json sandbox/package-lock.json \
		$(DESTDIR)$(PREFIX)/share/pgdrill/sandbox/)
	install -m 0644 man/pgdrill.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 man/pgdrill-runbook.5 $(DESTDIR)$(PREFIX)/share/man/man5/

format-check:
	clang-format --dry-run --Werror $(CORE_SRC) $(TUI_SRC) $(CLI_SRC) $(shell find core tui cli -name '*.h')

# ---- static analysis ---------------------------------------------------------
#
#   make analyze   shellcheck, cppcheck, then clang-tidy (checks in .clang-tidy); any finding fails
#
# clang-tidy reads $(BUILD)/compile_commands.json, written from the same
# CPPFLAGS, pkg-config flags and warnings as the build, so it sees the real
# include paths and defines. clang does not know some gcc-only warnings
# (-Wformat-signedness, -Wduplicated-*): -Wno-unknown-warning-option keeps
# that quiet. No -O2/_FORTIFY_SOURCE: the checks should see plain memcpy,
# not glibc's __builtin___memcpy_chk wrappers.
TIDY       ?= clang-tidy
TIDY_JOBS  ?= 2
ANALYZE_SRC := $(CORE_SRC) $(TUI_SRC) $(CLI_SRC) $(NEONSB_SRC) $(TESTLIB_SRC) $(UNIT_SRC)
CDB_FLAGS   = -std=c11 $(CPPFLAGS) $(PKG_CFLAGS) $(WARN) -Wno-unknown-warning-option
# $(call json_args,FLAGS): the flags as JSON strings, each followed by a comma.
json_args   = $(shell printf '%s\n' $(1) | sed 's/\\/\\\\/g; s/"/\\"/g; s/.*/"&",/' | tr -d '\n')

.PHONY: $(BUILD)/compile_commands.json
$(BUILD)/compile_commands.json:
	$(call msg,GEN,$@)
	@mkdir -p $(dir $@)
	$(Q)base='$(call json_args,$(CDB_FLAGS))'; cli='$(call json_args,-Itui)'; \
	{ echo '['; for f in $(ANALYZE_SRC); do \
		case $$f in cli/*) a="$$base$$cli" ;; *) a="$$base" ;; esac; \
		printf '{"directory":"%s","file":"%s","arguments":["cc",%s"-c","%s"]},\n' \
			"$(CURDIR)" "$$f" "$$a" "$$f"; \
	done | sed '$$ s/,$$//'; echo ']'; } > $@.tmp && mv $@.tmp $@

# cppcheck: warning, portability, style and performance. variableScope is off:
# STYLE.md's one out: label wants the variables it frees declared at the top
# of the function. A false positive is silenced in place with
# `// cppcheck-suppress ID ; reason`.
CPPCHECK_FLAGS = --enable=warning,portability,style,performance --std=c11 --inline-suppr \
	--suppress=variableScope --error-exitcode=1 --quiet -j$(TIDY_JOBS) -Icore -Itui

# shellcheck: every shell script of the project (tests, scripts, sandbox, the
# bench scripts, .ci/run; contrib/ holds none) at shellcheck's lowest
# severity, style: its info and style notes (quoting, ls | grep, A && B || C,
# unused variables) are cheap to honour and are where test scripts hide
# bugs, so the code is kept free of all of them. Where the code is right, the
# finding is silenced on the line above with its reason:
# `# shellcheck disable=SCxxxx # why`. -x follows `# shellcheck source=` paths
# (relative to the top directory).
SHELL_SRC := $(wildcard tests/*.sh tests/*/*.sh scripts/*.sh sandbox/*.sh) .ci/run \
	$(shell grep -lE '^#!/bin/(ba)?sh' bench/* 2>/dev/null)

analyze: deps $(BUILD)/compile_commands.json
	$(call msg,SHCHK,"$(words $(SHELL_SRC)) files")
	$(Q)shellcheck -x -S style $(SHELL_SRC)
	$(call msg,CPPCHK,"$(words $(ANALYZE_SRC)) files")
	$(Q)cppcheck $(CPPCHECK_FLAGS) $(ANALYZE_SRC)
	$(call msg,TIDY,"$(words $(ANALYZE_SRC)) files in $(TIDY_JOBS) jobs")
	$(Q)printf '%s\n' $(ANALYZE_SRC) | xargs -P$(TIDY_JOBS) -n1 $(TIDY) -p $(BUILD) --quiet \
		> $(BUILD)/clang-tidy.log 2>&1; rc=$$?; \
	grep -v '^[0-9]* warnings\? generated\.$$' $(BUILD)/clang-tidy.log; \
	if [ $$rc -ne 0 ]; then echo "analyze: clang-tidy found problems (log: $(BUILD)/clang-tidy.log)"; exit 1; fi
	@echo "analyze: ok"

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- fuzzing (libFuzzer, clang) --------------------------------------------
#
#   make fuzz FUZZ_SECONDS=N   build the targets in tests/fuzz and run each for N s
#   make fuzz-bins             only build them (into build-fuzz/, apart from build/)
#   make fuzz-smoke            the short run inside `make check` (tests/integration/fuzz_smoke.sh)
#
# Core is compiled again with clang, coverage instrumentation and ASan/UBSan.
# The gcc-only warning flags above mean nothing to clang; its own -Wall
# -Wextra still apply, without -Werror: gcc's build is the warning gate.
FUZZ_BUILD   ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c11 -Wall -Wextra -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/*_fuzz.c))
FUZZ_NAMES   := $(FUZZ_SRC:tests/fuzz/%_fuzz.c=%)
FUZZ_BIN     := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz/%)
FUZZ_CORE_OBJ := $(CORE_SRC:%.c=$(FUZZ_BUILD)/%.o)

.PHONY: fuzz fuzz-bins fuzz-smoke

$(FUZZ_BUILD)/%.o: %.c
	$(call msg,FUZZCC,$<)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(CPPFLAGS) $(PKG_CFLAGS) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/libpgdrill.a: $(FUZZ_CORE_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz/%: $(FUZZ_BUILD)/tests/fuzz/%_fuzz.o $(FUZZ_BUILD)/tests/fuzz/fuzz_common.o \
		$(FUZZ_BUILD)/libpgdrill.a
	$(call msg,LINK,$@)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS) $(LDLIBS)

fuzz-bins: $(FUZZ_BIN)

fuzz: fuzz-bins
	@FUZZ_BUILD=$(FUZZ_BUILD) tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_NAMES)

fuzz-smoke:
	@PGDRILL_TOP=$(CURDIR) FUZZ_BUILD=$(FUZZ_BUILD) tests/integration/fuzz_smoke.sh

-include $(shell find $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
