# `make test`: unit tests (cmocka, one file per module), then end-to-end tests of
# the real binary: the offline CLI (shell) and the server (Python stdlib), then
# the API collection (newman) and the container, where their tools are present.
TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/%)

$(BUILD)/test_%: tests/test_%.c tests/guard.h tests/tiny_model.h $(OBJS)
	$(CC) $(STD_CFLAGS) $(CFLAGS) $(LDFLAGS) -iquote src -o $@ $< $(OBJS) $(LDLIBS) -lcmocka

.PHONY: unit-test cli-test server-test api-test container-test
unit-test: $(TEST_BINS)
	@set -e; for t in $(TEST_BINS); do echo "== $$t"; TABSERVE_DATA=$(DATA) $$t; done

cli-test: $(BIN)
	BIN=$(BIN) TABSERVE_DATA=$(DATA) tests/cli.sh

server-test: $(BIN)
	BIN=$(BIN) python3 tests/test_server.py

api-test: $(BIN)
	BIN=$(BIN) tests/api.sh

container-test:
	NEWMAN=$(wildcard $(CURDIR)/node_modules/.bin/newman) tests/container.sh

test: unit-test cli-test server-test api-test container-test
	@echo "all tests passed"
