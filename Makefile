# tabserve — `make run` serves the default model on :8080, `make test` tests everything.
PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= gcc
CFLAGS  ?= -O2 -g
# always on, whatever CFLAGS the command line gives (make CFLAGS=... replaces CFLAGS)
STD_CFLAGS := -std=c11 -Wall -Wextra -Wpedantic -Werror -D_POSIX_C_SOURCE=200809L
LDLIBS  += -ljansson -lcsv -lprotobuf-c -lnghttp2 -lyajl -lz -lm
BUILD   ?= build
VERSION := $(shell sed -n 's/^#define TABSERVE_VERSION *"\(.*\)"/\1/p' src/model/model.h)

# Debian bookworm packages the build needs: one list, read by `make deps` and .ci/run
BUILD_DEBS := $(shell grep -v '^\#' packages/build.txt)
DEFAULT_MODEL := models/titanic.json
# the Kaggle Titanic train.csv stays in ../shared (never copied here)
DATA ?= ../shared/data/titanic.csv

# src/ has one folder per layer (docs/maintainers/architecture.md); includes name the folder: "model/schema.h"
LAYERS := base model estimators formats data train explain serve cli
SRCS := $(filter-out src/cli/main.c,$(foreach l,$(LAYERS),$(wildcard src/$(l)/*.c)))
HDRS := $(foreach l,$(LAYERS),$(wildcard src/$(l)/*.h))
# HTTP/1.1 parsing is llhttp (Node.js's parser): Debian's node-llhttp ships it as
# C sources, compiled here with the rest (serve/http.c is its only user)
LLHTTP_SRC ?= /usr/share/llhttp
LLHTTP_INC ?= /usr/share/include/llhttp
LLHTTP_C   := llhttp api http
GEN_PROTOS := onnx inference health
OBJS := $(SRCS:src/%.c=$(BUILD)/%.o) $(GEN_PROTOS:%=$(BUILD)/gen/%.pb-c.o) $(LLHTTP_C:%=$(BUILD)/llhttp/%.o)
BIN  := $(BUILD)/tabserve

# the kernels need the full vectoriser (gcc 12 -O2 only does the "very cheap" model)
# and fused multiply-add (-std=c11 turns contraction off); results stay bit-for-bit
# reproducible on one machine, and agree across machines to float rounding; every
# file of the fitting code takes the same flags (contraction is part of its numbers)
$(BUILD)/estimators/mlp.o $(addprefix $(BUILD)/train/,train.o mlp_fit.o linear_fit.o inputs.o select.o gbt_csv.o): MODULE_CFLAGS := -O3 -ffp-contract=fast

.PHONY: all run test unit-test bench install clean deps format format-check model static image
all: $(BIN)

$(BUILD)/serve/openapi.o: api/openapi.yaml
$(BUILD)/serve/page.o: api/page.html

ifneq ($(wildcard $(DEFAULT_MODEL)),)
$(BUILD)/formats/default_model.o: MODULE_CFLAGS := -DDEFAULT_MODEL_FILE='"$(DEFAULT_MODEL)"'
$(BUILD)/formats/default_model.o: $(DEFAULT_MODEL)
endif


# Installs missing build dependencies when root on Debian, otherwise says how: its
# own target, which `make run` and `make test` call; compiling never installs.
deps:
	@missing=""; for p in $(BUILD_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else echo "missing build dependencies; run:  sudo apt-get install -y$$missing"; exit 1; fi; \
	fi

# each object depends on the headers it includes (-MMD: BUILD/x.d, read below)
$(BUILD)/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(STD_CFLAGS) -MMD -MP -iquote src -isystem $(LLHTTP_INC) $(CFLAGS) $(MODULE_CFLAGS) -c -o $@ $<
-include $(OBJS:.o=.d) $(BUILD)/cli/main.d

# the library's own code, built as its authors build it (not under -Werror)
$(LLHTTP_C:%=$(LLHTTP_SRC)/%.c):
	@test -f $@ || { echo "$@ is missing: make deps (apt-get install node-llhttp)"; exit 1; }
$(BUILD)/llhttp/%.o: $(LLHTTP_SRC)/%.c
	@mkdir -p $(@D)
	$(CC) -std=c99 -I$(LLHTTP_INC) $(CFLAGS) -w -c -o $@ $<

# ONNX's protobuf messages: protoc-c compiles the onnx.proto that Debian's
# libonnx-dev ships, at build time, into BUILD/gen (generated code is never
# committed). The ONNX reader includes the generated header.
ONNX_PROTO ?= /usr/include/onnx/onnx.proto
%/gen/onnx.pb-c.c %/gen/onnx.pb-c.h:
	@mkdir -p $*/gen
	cp $(ONNX_PROTO) $*/gen/onnx.proto && cd $*/gen && protoc-c --c_out=. onnx.proto
# gRPC's messages: proto/inference.proto and proto/health.proto, tabserve's own
# (written from the protocols' documents), compiled the same way.
%/gen/inference.pb-c.c %/gen/inference.pb-c.h %/gen/health.pb-c.c %/gen/health.pb-c.h: proto/inference.proto proto/health.proto
	@mkdir -p $*/gen
	protoc-c --proto_path=proto --c_out=$*/gen inference.proto health.proto
$(BUILD)/gen/%.pb-c.o: $(BUILD)/gen/%.pb-c.c
	$(CC) -std=c11 $(CFLAGS) -I$(BUILD)/gen -c -o $@ $<
ONNX_READERS := $(addprefix $(BUILD)/formats/,onnx.o onnx_proto.o onnx_graph.o)
$(ONNX_READERS): $(BUILD)/gen/onnx.pb-c.h
$(ONNX_READERS): MODULE_CFLAGS := -I$(BUILD)/gen
$(BUILD)/serve/grpc_service.o: $(BUILD)/gen/inference.pb-c.h $(BUILD)/gen/health.pb-c.h
$(BUILD)/serve/grpc_service.o: MODULE_CFLAGS := -I$(BUILD)/gen

$(BIN): $(BUILD)/cli/main.o $(OBJS)
	$(CC) $(STD_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The container's binary: everything static except glibc (its resolver needs the
# shared library), stripped; the image is that binary, glibc and the model.
STATIC_LIBS := -Wl,--gc-sections -Wl,-Bstatic -ljansson -lcsv -lprotobuf-c -lnghttp2 -lyajl_s -lz -Wl,-Bdynamic -lm
static: $(BUILD)/tabserve-static
$(BUILD)/tabserve-static: $(BUILD)/cli/main.o $(OBJS)
	$(CC) $(STD_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(STATIC_LIBS)
	strip $@

IMAGE ?= tabserve
image:
	docker build -t $(IMAGE):latest -t $(IMAGE):$(VERSION) .
	@docker image inspect $(IMAGE):latest --format '$(IMAGE):$(VERSION) image size: {{.Size}} bytes' | \
	  awk '{print; if ($$4 > 10000000) {print "image is over 10 MB"; exit 1}}'

run: deps
	$(MAKE) --no-print-directory $(BIN)
	$(BIN) serve -w 4 -b :8080

# Retrains the default model exactly as the README says.
model: $(BIN)
	$(BIN) train $(DATA) --label Survived --numeric Age,Fare --categorical Sex,Embarked,Pclass \
	  --model blend --cv 5 --fold-by PassengerId -o $(DEFAULT_MODEL)

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/tabserve/models
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/tabserve
	install -m 644 $(DEFAULT_MODEL) $(DESTDIR)$(PREFIX)/share/tabserve/models/

clean:
	rm -rf $(BUILD)

include tests/tests.mk
include bench/bench.mk
include fuzz/fuzz.mk

FORMAT_FILES = $(SRCS) src/cli/main.c $(HDRS) $(wildcard tests/*.c tests/*.h bench/*.c fuzz/*.c)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)
