# `make bench`: performance figures, each printed beside an anchor measured in
# the same run. Core figures from bench_core; predict throughput and the HTTP
# server comparison from shell scripts (wrk, nginx-light, gunicorn if present).
BENCH_DEBS := wrk nginx-light curl bc libxgboost-dev python3-xgboost python3-numpy

$(BUILD)/bench_core: bench/bench_core.c $(OBJS)
	$(CC) $(STD_CFLAGS) $(CFLAGS) $(LDFLAGS) -iquote src -o $@ $< $(OBJS) $(LDLIBS)

# against XGBoost's own C API (Debian's libxgboost-dev 1.7.4)
$(BUILD)/bench_trees: bench/bench_trees.c $(OBJS)
	$(CC) $(STD_CFLAGS) $(CFLAGS) $(LDFLAGS) -iquote src -o $@ $< $(OBJS) $(LDLIBS) -lxgboost

bench-trees: $(BUILD)/bench_trees
	@dir=$$(mktemp -d) && /usr/bin/python3 tests/oracles/make_xgboost.py $$dir --big && \
	  $(BUILD)/bench_trees $$dir; rc=$$?; rm -rf $$dir; exit $$rc

# Imported models: XGBoost's C API, ONNX Runtime (node), and the HTTP
# server with the 500-tree model against nginx, all in one run.
bench-import: $(BIN) $(BUILD)/bench_trees
	@dir=$$(mktemp -d) && trap 'rm -rf $$dir' EXIT && \
	  /usr/bin/python3 tests/oracles/make_xgboost.py $$dir --big && /usr/bin/python3 tests/oracles/make_onnx.py $$dir --big && \
	  echo "== trees against XGBoost" && $(BUILD)/bench_trees $$dir && \
	  echo && echo "== ONNX models against ONNX Runtime" && BENCH=$(BUILD)/bench_trees bench/onnx.sh $$dir && \
	  echo && echo "== loading the 500-tree model in a fresh process" && BENCH=$(BUILD)/bench_trees bench/load.sh $$dir && \
	  echo && echo "== POST /model, 500 trees of depth 8, 2 workers" && \
	  BIN=$(BIN) MODEL=$$dir/xgb_500x8.json TARGET=0.8 \
	  BODY="$$(python3 -c 'import json; print(json.dumps({f"f{j}": round((j * 37 % 19) / 7 - 1.2, 3) for j in range(20)}))')" \
	  bench/serve.sh

# the request path in instructions: callgrind's count for 3,000 seed requests through
# api_handle less its count for 1,000, over 2,000 (exact for one binary: compare builds)
$(BUILD)/bench_request_path: bench/request_path.c $(OBJS)
	$(CC) $(STD_CFLAGS) $(CFLAGS) $(LDFLAGS) -iquote src -o $@ $< $(OBJS) $(LDLIBS)

bench-instructions: $(BUILD)/bench_request_path
	@command -v valgrind >/dev/null || { echo "bench-instructions needs valgrind"; exit 1; }
	@dir=$$(mktemp -d) && trap 'rm -rf $$dir' EXIT && for n in 1000 3000; do \
	  valgrind --tool=callgrind --callgrind-out-file=$$dir/cg.$$n $(BUILD)/bench_request_path $$n > /dev/null 2> $$dir/log.$$n \
	    || { cat $$dir/log.$$n; exit 1; }; \
	  grep -m1 '^summary:' $$dir/cg.$$n | awk '{print $$2}' > $$dir/ir.$$n; done; \
	  echo "instructions a request (POST /model, the seed's body): $$(( ($$(cat $$dir/ir.3000) - $$(cat $$dir/ir.1000)) / 2000 ))"

# `train --model auto --cv 5` on scikit-learn's bundled data sets beside its best default
bench-quality: $(BIN)
	@dpkg -s python3-sklearn >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq python3-sklearn >/dev/null; }
	/usr/bin/python3 bench/quality.py $(BIN)

# gradient-boosted trees against XGBoost (Titanic CV and a synthetic million rows)
bench-gbt: $(BIN)
	/usr/bin/python3 bench/gbt.py $(BIN) $(DATA)

bench: $(BIN) $(BUILD)/bench_core
	@missing=""; for p in $(BENCH_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -qq $$missing >/dev/null; else echo "bench needs: sudo apt-get install -y$$missing"; exit 1; fi; fi
	@echo "== core"; $(BUILD)/bench_core $(wildcard $(DATA))
	@echo; echo "== imported models"; $(MAKE) --no-print-directory bench-import
	@echo; echo "== gradient-boosted trees"; $(MAKE) --no-print-directory bench-gbt
	@echo; echo "== training quality against scikit-learn"; $(MAKE) --no-print-directory bench-quality
	@echo; echo "== offline predict"; BIN=$(BIN) bench/predict.sh
	@echo; echo "== HTTP server"; BIN=$(BIN) bench/serve.sh
	@echo; echo "== KServe V2 and TF Serving"; $(MAKE) --no-print-directory bench-protocols
	@echo; echo "== gRPC"; $(MAKE) --no-print-directory bench-grpc

# the cluster protocols: one row against nginx, 1,024 rows binary against JSON
bench-protocols: $(BIN)
	BIN=$(BIN) bench/protocols.sh

# gRPC: one-row ModelInfer (h2load, 64 streams) against nginx over h2c; 1,024 raw rows against REST's binary extension
bench-grpc: $(BIN)
	BIN=$(BIN) bench/grpc.sh

# Faults under load: reload, kill -9, slowloris, 10k idle connections,
# endless bodies. Figures recorded in docs/maintainers/reliability.md.
.PHONY: faults bench-trees bench-import bench-gbt bench-protocols bench-grpc bench-quality bench-instructions
faults: $(BIN)
	@for p in wrk slowhttptest; do command -v $$p >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq $$p >/dev/null; }; done
	BIN=$(BIN) python3 bench/faults.py
