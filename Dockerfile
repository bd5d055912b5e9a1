# tabserve: the seed's Flask + gunicorn + Keras container, as one small C binary.
# Build: `make image` (or: docker build -t tabserve .)   Run: docker run -p 8080:8080 tabserve
ARG BASE=debian:bookworm-slim

# ---- build stage: Debian's compiler and libraries, `make static` ------------
FROM ${BASE} AS build
COPY packages/build.txt /tmp/
# the build's packages (the one list, packages/build.txt; cmocka is for the tests), and binutils' strip
RUN apt-get update \
 && apt-get install -y --no-install-recommends binutils $(grep -v '^#' /tmp/build.txt | sed 's/libcmocka-dev//') \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /usr/src/tabserve
COPY Makefile ./
COPY packages ./packages
COPY tests/tests.mk tests/
COPY bench/bench.mk bench/
COPY fuzz/fuzz.mk fuzz/
COPY src ./src
COPY proto ./proto
COPY api ./api
COPY models ./models
RUN make static \
 && mkdir -p /rootfs/models \
 && cp build/tabserve-static /rootfs/tabserve \
 && cp models/titanic.json /rootfs/models/ \
 && for lib in $(ldd /rootfs/tabserve | awk '/=>/ {print $3} /ld-linux/ {print $1}'); do \
      cp --parents -L "$lib" /rootfs/; \
    done

# ---- final stage: the binary, the libraries it needs, the default model -------
FROM scratch
COPY --from=build /rootfs/ /
LABEL org.opencontainers.image.title="tabserve" \
      org.opencontainers.image.description="Titanic survival model served over HTTP: POST /model" \
      org.opencontainers.image.licenses="MIT"
WORKDIR /
# any non-root user works (docker run --user 12345 too): the server writes no files
USER 10001:10001
EXPOSE 8080 8001
# HTTP on 8080 (the seed's port); gRPC (KServe V2's inference service, gRPC health checking) on 8001
ENV TABSERVE_BIND=:8080 TABSERVE_GRPC_BIND=:8001
HEALTHCHECK --interval=5s --timeout=3s --start-period=2s --retries=3 CMD ["/tabserve", "healthcheck"]
ENTRYPOINT ["/tabserve"]
# the seed's `gunicorn -w 4 -b :8080 app:app`
CMD ["serve", "-w", "4", "-b", ":8080", "--access-logfile", "-"]
