# Thin wrapper over CMake. The two commands a newcomer needs: `make run` and `make test`.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 20

.PHONY: all deps build run test test-unit test-asan bench fuzz clean pg-stop

all: build

deps:
	@bash scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The platform server on http://127.0.0.1:8080/ with its store in var/ (scripts/run.sh creates the
# development secrets once; the first start prints the admin's password). Ctrl-C stops it. The
# terminal market demo is `./build/atp demo`.
run: build
	@bash scripts/run.sh $(BUILD)

# Every test, then the whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
test: test-unit test-asan

# The PostgreSQL store tests need a server: scripts/pg.sh installs, starts or reuses a private one
# (127.0.0.1:54329) and prints its URL, which ctest hands to the tests as ATP_TEST_PG_URL.
test-unit: build
	@url="$$(bash scripts/pg.sh)" && cd $(BUILD) && ATP_TEST_PG_URL="$$url" ctest --output-on-failure -j $(JOBS)

test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DATP_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@url="$$(bash scripts/pg.sh)" && cd $(ASAN_BUILD) && ATP_TEST_PG_URL="$$url" \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

bench: build
	./$(BUILD)/atp bench md
	./$(BUILD)/atp bench backtest
	bash bench/http.sh $(BUILD)
	bash bench/ws.sh $(BUILD)
	bash bench/backtest_live.sh $(BUILD)

# Builds the libFuzzer targets with clang and runs each for FUZZ_SECONDS on its seed corpus.
fuzz: deps
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	  -DATP_SANITIZE=ON -DATP_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@bash scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Stops the test PostgreSQL of scripts/pg.sh (its data stays in /var/tmp/atp-pgtest-54329).
pg-stop:
	@bash scripts/pg.sh stop

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
