# Robustness: `make fuzz` (libFuzzer harnesses, FUZZ_SECONDS each), `make test-asan`
# (every test under AddressSanitizer + UndefinedBehaviorSanitizer), `make test-valgrind`
# (unit tests and a short server session under memcheck).
# Seeds: fuzz/corpus/; the XGBoost model seeds are made by
# tests/oracles/make_xgboost.py fuzz/corpus/model --seeds; the small v2-*.json are
# written by hand (v2-blend-background.json: a blend with a background, so that
# fuzz_model reaches the explainer's coalition tables and enumeration); lgb-handmade.txt, a LightGBM
# text model written by hand (a categorical split, a NaN-missing split, pandas_categorical);
# fuzz/corpus/grpc/ by fuzz/make_grpc_seeds.py (whole HTTP/2 client connections, python3-h2);
# model/lightgbm-rf-leaf-not-a-probability and model/lightgbm-decision-type-past-int are
# fuzz_model's own findings (an rf classifier leaf past 1; a decision_type past int's range);
# model/onnx-tree-ensemble.onnx is tree_ensemble_sum of tests/oracles/make_ops.py (ai.onnx.ml 5);
# model/onnx-half-network.onnx and onnx-float16-weights.onnx are its numpy_half_network and
# float16_weights (the narrow element types); model/onnx-one-row.onnx its one_row_reshape (a batch of 1),
# model/onnx-local-functions.onnx its local_functions (model-local functions calling functions); model/onnx-linear-scores.onnx, fuzz_model's (a
# LinearClassifier without post_transform, its decision scores served as probabilities);
# model/onnx-tree-ensemble-two-targets.onnx, fuzz_model's finding (two raw targets served as a probability);
# model/lightgbm-cat-word-past-32-bits, fuzz_model's (a bitset word of 5.9e43 converted to an integer);
# model/onnx-input-without-shape.onnx and onnx-empty-raw-int64.onnx, fuzz_model's (a NULL shape; an
# empty tensor's NULL data). The other onnx-*.onnx: tests/oracles/make_onnx.py OUTDIR --seeds.
FUZZ_SECONDS ?= 30
FUZZ_BUILD := build-fuzz
FUZZ_CFLAGS := -O1 -g -std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L \
               -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJS := $(SRCS:src/%.c=$(FUZZ_BUILD)/%.o) $(GEN_PROTOS:%=$(FUZZ_BUILD)/gen/%.pb-c.o) $(LLHTTP_C:%=$(FUZZ_BUILD)/llhttp/%.o)
FUZZERS := api model csv encode http grpc

$(FUZZ_BUILD)/%.o: src/%.c $(HDRS) $(DEFAULT_MODEL) api/openapi.yaml api/page.html $(GEN_PROTOS:%=$(FUZZ_BUILD)/gen/%.pb-c.h)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -iquote src -isystem $(LLHTTP_INC) -I$(FUZZ_BUILD)/gen -DDEFAULT_MODEL_FILE='"$(DEFAULT_MODEL)"' -c -o $@ $<

$(FUZZ_BUILD)/gen/%.pb-c.o: $(FUZZ_BUILD)/gen/%.pb-c.c
	clang -O1 -g -std=c11 -fsanitize=fuzzer-no-link,address,undefined -I$(FUZZ_BUILD)/gen -c -o $@ $<

$(FUZZ_BUILD)/llhttp/%.o: $(LLHTTP_SRC)/%.c
	@mkdir -p $(@D)
	clang -O1 -g -std=c99 -fsanitize=fuzzer-no-link,address,undefined -I$(LLHTTP_INC) -w -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_OBJS)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -iquote src -isystem $(LLHTTP_INC) -o $@ $< $(FUZZ_OBJS) $(LDLIBS)

.PHONY: fuzz fuzz-build test-asan test-valgrind
.SECONDARY: $(FUZZ_OBJS) $(GEN_PROTOS:%=$(FUZZ_BUILD)/gen/%.pb-c.c) $(GEN_PROTOS:%=$(FUZZ_BUILD)/gen/%.pb-c.h)
fuzz-build: $(FUZZERS:%=$(FUZZ_BUILD)/fuzz_%)

# Each harness runs FUZZ_SECONDS from the committed seeds; findings land in
# $(FUZZ_BUILD)/ and fail the target. Prints execs per harness.
fuzz: fuzz-build
	@set -e; for f in $(FUZZERS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus-$$f; cp fuzz/corpus/$$f/* $(FUZZ_BUILD)/corpus-$$f/; \
	  echo "== fuzz_$$f for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_BUILD)/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/$$f- $(FUZZ_BUILD)/corpus-$$f > $(FUZZ_BUILD)/fuzz_$$f.log 2>&1 \
	    || { tail -40 $(FUZZ_BUILD)/fuzz_$$f.log; exit 1; }; \
	  grep -E "stat::number_of_executed_units|stat::new_units_added" $(FUZZ_BUILD)/fuzz_$$f.log; \
	done

ASAN_BUILD := build-asan
test-asan:
	$(MAKE) BUILD=$(ASAN_BUILD) CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  LDFLAGS="-fsanitize=address,undefined" $(ASAN_BUILD)/tabserve
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(MAKE) BUILD=$(ASAN_BUILD) CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  LDFLAGS="-fsanitize=address,undefined" unit-test cli-test server-test protocol-test grpc-test

VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
            --show-leak-kinds=definite,indirect
test-valgrind: $(TEST_BINS) $(BIN)
	@set -e; for t in $(TEST_BINS); do echo "== valgrind $$t"; TABSERVE_DATA=$(DATA) $(VALGRIND) $$t > /dev/null; done
	BIN=$(BIN) VALGRIND="$(VALGRIND)" tests/valgrind-server.sh
