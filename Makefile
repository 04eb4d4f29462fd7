# pgdrill — the one Makefile.
#
#   make            build build/pgdrill and the sandbox Neon server
#   make check      install what is missing, build, start test services, run every test
#   make demo       install what is missing, build, open the TUI on a runbook
#   make check-asan the same tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make check-valgrind  only the valgrind memcheck part of check
#   make coverage   the tests on a --coverage build (build-cov/), then line coverage
#                   per module (gcovr); fails when core/ drops below COV_FLOOR
#   make analyze    cppcheck and clang-tidy (.clang-tidy) over every C source; a finding fails
#   make bench      run the benchmarks in bench/ (slow; starts its own services)
#   make install PREFIX=/usr/local
#   V=1             show the full commands

VERSION   := 0.1.0
PREFIX    ?= /usr/local
BUILD     ?= build
CC        ?= cc
# build jobs for check, check-asan and check-valgrind (one per CPU)
JOBS      ?= $(shell nproc 2>/dev/null || echo 1)

# Libraries are looked up lazily (=, not :=) so `make deps` can install them
# before a sub-make first needs the flags.
PKGS       = libcmark libpq libcurl libcjson zlib expat openssl ncursesw libdeflate libisal
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

OPT       ?= -O2 -g
CPPFLAGS  += -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DPD_VERSION='"$(VERSION)"' -Icore
CFLAGS    += -std=c11 $(WARN) $(OPT) $(HARDEN) -MMD -MP
LDLIBS    += -lpthread -lm

# Hardening, in every build unless said otherwise. _FORTIFY_SOURCE is level
# 3 where the compiler has __builtin_dynamic_object_size (gcc >= 12; glibc
# < 2.34 reads 3 as 2), else 2. It needs optimisation (glibc warns at -O0,
# fatal under -Werror) and is left out of sanitizer builds, where ASan's
# own checks of memcpy and friends do the job; nor is it set twice when
# OPT already defines it. -U first: some compilers predefine it.
FORTIFY_LEVEL := $(shell printf 'int main(void){char b[4];return (int)__builtin_dynamic_object_size(b,0);}' | \
	$(CC) -x c -O2 -Werror -o /dev/null - 2>/dev/null && echo 3 || echo 2)
HARDEN := -fstack-protector-strong  # canaries in functions with arrays or address-taken locals
HARDEN += $(if $(filter -O1 -O2 -O3 -Os -Og -Ofast,$(OPT)),$(if $(findstring -fsanitize,$(OPT))$(findstring _FORTIFY_SOURCE,$(OPT)),,\
	-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=$(FORTIFY_LEVEL)))  # checked memcpy, sprintf, read... where sizes are known
HARDEN_LDFLAGS := -Wl,-z,relro,-z,now  # GOT read-only after start-up; every symbol bound at load (BIND_NOW)

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
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))

CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
TUI_OBJ  := $(TUI_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
NEONSB_OBJ := $(NEONSB_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:%.c=$(BUILD)/%)
TESTLIB_OBJ := $(TESTLIB_SRC:%.c=$(BUILD)/%.o)
TOOL_BIN := $(TOOL_SRC:%.c=$(BUILD)/%)

# cli/ sees the TUI's entry header; nothing else does.
$(CLI_OBJ): CPPFLAGS += -Itui

LIB      := $(BUILD)/libpgdrill.a
BIN      := $(BUILD)/pgdrill
NEONSB   := $(if $(NEONSB_SRC),$(BUILD)/neon-sandbox)

.SECONDARY:

.PHONY: all deps check check-asan check-valgrind demo install clean layering test-bins run-tests format-check analyze bench \
	coverage coverage-report

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
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $(HARDEN_LDFLAGS) -o $@ $(CLI_OBJ) $(TUI_OBJ) $(LIB) $(PKG_LIBS) $(LDLIBS)

$(BUILD)/neon-sandbox: $(NEONSB_OBJ) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $(HARDEN_LDFLAGS) -o $@ $(NEONSB_OBJ) $(LIB) $(PKG_LIBS) \
		$$(pkg-config --libs libmicrohttpd) $(LDLIBS)

# Unit tests: one binary per tests/unit/*_test.c, linked with core and cmocka.
# Tests that need the TUI link the TUI objects too (the TUI has no main()).
$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(TESTLIB_OBJ) $(TUI_OBJ) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $(HARDEN_LDFLAGS) -o $@ $< $(TESTLIB_OBJ) $(TUI_OBJ) $(LIB) $(PKG_LIBS) \
		$$(pkg-config --libs cmocka) $(LDLIBS)

# Test drivers: one small program per tests/tools/*.c, linked with core only;
# the integration scripts run them (e.g. tests/tools/neon_tool.c).
$(BUILD)/tests/tools/%: $(BUILD)/tests/tools/%.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $(HARDEN_LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) $(LDLIBS)

test-bins: all $(UNIT_BIN) $(TOOL_BIN)

# core/ never draws; tui/ never talks to a service library directly, and of
# core/ it includes only the headers meant for it (an allow-list): the pd_
# utilities, the runbook model and the engine it drives, the drill and the
# drill session (the lifecycle every front end shares), the timeline
# screen's history, timeline and styled lines, and the audit log the
# timeline is loaded from, and the status of the procedures (the picker's
# panel). Any other core header (a service client,
# backup, verify, an .intern.h) is a layering error.
TUI_CORE_HEADERS := pd_buf.h pd_err.h pd_log.h pd_mem.h pd_time.h runbook/runbook.h \
	engine/engine.h drill/drill.h session/session.h timeline/history.h timeline/lines.h \
	timeline/timeline.h audit/audit.h status/status.h runbook/contacts.h

layering:
	@bad=$$(grep -rlE '#include *[<"](n?curses|panel|menu|form)\.h' core || true); \
	 if [ -n "$$bad" ]; then echo "layering: curses included in core/: $$bad"; exit 1; fi
	@bad=$$(grep -rlE '#include *[<"](curl/curl|libpq-fe|cjson/cJSON|cJSON|zlib|expat)\.h' tui || true); \
	 if [ -n "$$bad" ]; then echo "layering: service library included in tui/: $$bad"; exit 1; fi
	@bad=0; for f in tui/*.c tui/*.h; do \
	   for h in $$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]\([^">]*\)[">].*/\1/p' "$$f"); do \
	     [ -e "tui/$$h" ] || [ ! -e "core/$$h" ] && continue; \
	     case " $(strip $(TUI_CORE_HEADERS)) " in *" $$h "*) ;; \
	     *) echo "layering: $$f includes core/$$h, which is not meant for tui/ (TUI_CORE_HEADERS)"; bad=1 ;; esac; \
	   done; \
	 done; exit $$bad
	@echo "layering: ok"

deps:
	@scripts/deps.sh

# The two commands the README shows.
check: deps
	@$(MAKE) --no-print-directory layering
	@$(MAKE) --no-print-directory -j$(JOBS) test-bins
	@$(MAKE) --no-print-directory run-tests

run-tests:
	@BUILD=$(BUILD) tests/run.sh

check-asan: deps
	@$(MAKE) --no-print-directory -j$(JOBS) BUILD=build-asan \
		OPT='-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1' \
		LDFLAGS='-fsanitize=address,undefined' test-bins
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(MAKE) --no-print-directory BUILD=build-asan run-tests

# Memcheck (not part of check: 5 to 7 minutes): tests/valgrind.sh, with the
# suppressions of tests/valgrind.supp (third-party one-time init only).
check-valgrind: deps
	@$(MAKE) --no-print-directory -j$(JOBS) test-bins
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
	install -m 0644 runbooks/hints $(DESTDIR)$(PREFIX)/share/pgdrill/runbooks/
	install -d $(DESTDIR)$(PREFIX)/share/pgdrill/sandbox
	install -m 0755 sandbox/sandbox.sh sandbox/pg-cluster.sh sandbox/s3rver-install.sh $(DESTDIR)$(PREFIX)/share/pgdrill/sandbox/
	install -m 0644 sandbox/seed.sql tests/fixtures/sql/care-commons-schema.sql \
		$(DESTDIR)$(PREFIX)/share/pgdrill/sandbox/
	$(if $(wildcard sandbox/s3-proxy.py),install -m 0755 sandbox/s3-proxy.py $(DESTDIR)$(PREFIX)/share/pgdrill/sandbox/)
	$(if $(wildcard sandbox/package-lock.json),install -m 0644 sandbox/package.json sandbox/package-lock.json \
		$(DESTDIR)$(PREFIX)/share/pgdrill/sandbox/)
	install -m 0644 man/pgdrill.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 man/pgdrill-runbook.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions
	install -m 0644 contrib/completion/pgdrill.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/pgdrill
	install -m 0644 contrib/completion/_pgdrill $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_pgdrill

format-check:
	clang-format --dry-run --Werror $(CORE_SRC) $(TUI_SRC) $(CLI_SRC) $(shell find core tui cli -name '*.h')

# ---- coverage -----------------------------------------------------------------
#
#   make coverage          build with --coverage into build-cov/, run every test
#                          (tests/run.sh, PGDRILL_NO_ANALYSIS=1), then print line
#                          coverage per module (gcovr); fails when a test fails
#                          or core/ falls below COV_FLOOR
#   make coverage-report   only the table, from the counts build-cov/ holds
#
# -O0 keeps line counts true to the source (and so no _FORTIFY_SOURCE). The
# counts of an earlier run are removed first: each run reports itself alone.
# Modules: core/<module>/, core/*.c with core/*.h as one, cli/, tui/.
# libgcov's complaints go to GCOV_ERROR_FILE, not stderr: a test that caps
# the file size (ulimit -f) and compares pgdrill's stderr would see them.
COV_BUILD ?= build-cov
# Counters are updated atomically: core code runs in threads (the S3
# upload's workers among them), and racing increments left negative counts
# that gcovr cannot parse (seen in core/audit/audit.c); a line it still
# cannot parse is warned about, not fatal.
# gcc's -Wformat-truncation guesses value ranges far wider at -O0 than at
# -O2: the default build stays its gate.
COV_FLAGS := -fprofile-update=atomic -Wno-format-truncation
COV_FLOOR ?= 92  # core/ line coverage (92.2%) on 2026-12-07, rounded down; raise it, never lower it

coverage: deps
	@$(MAKE) --no-print-directory BUILD=$(COV_BUILD) OPT='-O0 -g --coverage $(COV_FLAGS)' LDFLAGS='--coverage' test-bins
	@find $(COV_BUILD) -name '*.gcda' -delete; rm -f $(COV_BUILD)/gcov-errors.log $(COV_BUILD)/tests.rc
	@start=$$(date +%s); GCOV_ERROR_FILE=$(CURDIR)/$(COV_BUILD)/gcov-errors.log \
	 PGDRILL_NO_ANALYSIS=1 BUILD=$(COV_BUILD) tests/run.sh; echo $$? >$(COV_BUILD)/tests.rc; \
	 echo "coverage: the tests took $$(( $$(date +%s) - start )) s"; \
	 if [ -s $(COV_BUILD)/gcov-errors.log ]; then \
	   echo "coverage: libgcov could not write some counts: see $(COV_BUILD)/gcov-errors.log"; fi
	@$(MAKE) --no-print-directory coverage-report; rc=$$?; \
	 if [ "$$(cat $(COV_BUILD)/tests.rc 2>/dev/null)" != 0 ]; then \
	   echo "coverage: tests/run.sh failed: see its output above"; exit 1; fi; exit $$rc

coverage-report:
	$(call msg,GCOVR,$(COV_BUILD))
	$(Q)gcovr -r . -j 2 --gcov-ignore-parse-errors --filter 'core/' --filter 'cli/' --filter 'tui/' \
		--json-summary $(COV_BUILD)/coverage.json $(COV_BUILD)
	$(Q)tests/tools/coverage_table.py $(COV_BUILD)/coverage.json $(COV_FLOOR)

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
ANALYZE_SRC := $(CORE_SRC) $(TUI_SRC) $(CLI_SRC) $(NEONSB_SRC) $(TESTLIB_SRC) $(UNIT_SRC) $(TOOL_SRC)
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
# bench scripts, .ci/run, the bash completion) at shellcheck's lowest
# severity, style: its info and style notes (quoting, ls | grep, A && B || C,
# unused variables) are cheap to honour and are where test scripts hide
# bugs, so the code is kept free of all of them. Where the code is right, the
# finding is silenced on the line above with its reason:
# `# shellcheck disable=SCxxxx # why`. -x follows `# shellcheck source=` paths
# (relative to the top directory).
SHELL_SRC := $(wildcard tests/*.sh tests/*/*.sh scripts/*.sh sandbox/*.sh) .ci/run \
	contrib/completion/pgdrill.bash \
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
	rm -rf build build-asan $(COV_BUILD)

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
