# `make test`: unit tests (cmocka, one file per module), then end-to-end tests of
# the real binary: the offline CLI (shell) and the server (Python stdlib), then
# the API collection (newman) and the container, where their tools are present.
# As root on Debian it first installs what the suites need (test-deps); a suite
# that cannot run says SKIPPED, and the summary lists those lines last.
TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/%)

$(BUILD)/test_%: tests/test_%.c tests/guard.h tests/tiny_model.h $(OBJS)
	$(CC) $(STD_CFLAGS) $(CFLAGS) $(LDFLAGS) -iquote src -I$(BUILD)/gen -o $@ $< $(OBJS) $(LDLIBS) -lcmocka

.PHONY: unit-test cli-test server-test protocol-test client-test grpc-test import-test onnx-node-test api-test page-test manifest-test compose-test container-test readme-test
unit-test: $(TEST_BINS)
	@python3 tests/layers.py
	@set -e; for t in $(TEST_BINS); do echo "== $$t"; TABSERVE_DATA=$(DATA) $$t; done

cli-test: $(BIN)
	BIN=$(BIN) TABSERVE_DATA=$(DATA) tests/cli.sh

server-test: $(BIN)
	BIN=$(BIN) python3 tests/test_server.py

# KServe V2 and TF Serving, validated against tests/schemas/; the model repository
protocol-test: $(BIN)
	BIN=$(BIN) python3 tests/test_protocols.py

# the protocols with clients nobody here wrote: Triton's (../shared/clients), TF Serving's document
client-test: $(BIN)
	BIN=$(BIN) python3 tests/test_clients.py

# gRPC with grpcio (messages from the protocols' .proto files), Triton's gRPC client, hostile HTTP/2 peers
grpc-test: $(BIN)
	BIN=$(BIN) python3 tests/test_grpc.py

# imported models against their own runtimes (XGBoost, ONNX Runtime)
import-test: $(BIN)
	BIN=$(BIN) python3 tests/test_import.py

api-test: $(BIN)
	BIN=$(BIN) tests/api.sh

# deploy/kubernetes and deploy/kserve against the Kubernetes API schemas and tabserve's own flags
manifest-test: $(BIN)
	BIN=$(BIN) node tests/manifests.js

# the page (GET /) in headless Chromium; `node tests/page.js --screenshot docs/page.png` remakes the README's picture
page-test: $(BIN)
	BIN=$(BIN) node tests/page.js

# deploy/compose on a real engine: replicas behind HAProxy, a stop and a rolling restart under load
compose-test:
	tests/compose.sh

container-test:
	NEWMAN=$(wildcard $(CURDIR)/node_modules/.bin/newman) tests/container.sh

# every command of the README's ```sh blocks, as written (make run, the own-data example,
# the container and Compose recipes where Docker is there); needs :8080 free
readme-test: $(BIN)
	/usr/bin/python3 tests/readme.py

# the test suites' Debian packages: one list, read here and by .ci/run
TEST_DEBS := $(shell grep -v '^\#' packages/test.txt)
test-deps: deps
	@missing=""; for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing for the tests:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	  else echo "the tests need:$$missing; run:  sudo apt-get install -y$$missing"; fi; \
	fi
	@if { [ ! -x node_modules/.bin/newman ] || [ ! -d node_modules/onnxruntime-node ] || [ ! -d node_modules/puppeteer-core ] || [ ! -d node_modules/kubernetes-models ]; } && command -v npm >/dev/null; then \
	  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error || echo "npm ci failed: the API contract tests will be skipped"; fi

.PHONY: test-deps
test: test-deps
	@$(MAKE) --no-print-directory all
	@MAKE="$(MAKE)" tests/run-all.sh unit-test cli-test server-test protocol-test client-test grpc-test import-test onnx-node-test api-test page-test manifest-test container-test compose-test readme-test

# ONNX's own node tests (../shared/conformance/onnx-node) on the graph interpreter: the
# cases in tests/onnx_node_expected.txt must pass; the count of all is printed
$(BUILD)/onnx_node_tests: tests/onnx_node_tests.c $(OBJS)
	$(CC) $(STD_CFLAGS) $(CFLAGS) $(LDFLAGS) -iquote src -I$(BUILD)/gen -o $@ $< $(OBJS) $(LDLIBS)
onnx-node-test: $(BUILD)/onnx_node_tests
	@$(BUILD)/onnx_node_tests ../shared/conformance/onnx-node tests/onnx_node_expected.txt > $(BUILD)/onnx-node.log; \
	  rc=$$?; grep -E "^(onnx node tests|FAIL|SKIPPED)" $(BUILD)/onnx-node.log; exit $$rc
.PHONY: onnx-node-test
