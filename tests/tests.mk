# Unit tests (cmocka), one file per module, then end-to-end tests of the binary.
TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/%)

$(BUILD)/test_%: tests/test_%.c tests/guard.h tests/tiny_model.h $(OBJS)
	$(CC) $(CFLAGS) -iquote src -o $@ $< $(OBJS) $(LDLIBS) -lcmocka

unit-test: $(TEST_BINS)
	@set -e; for t in $(TEST_BINS); do echo "== $$t"; TABSERVE_DATA=$(DATA) $$t; done

test: $(BIN) unit-test
	BIN=$(BIN) TABSERVE_DATA=$(DATA) tests/cli.sh
	@echo "all tests passed"
