# The `sgaps` server in a container (seed SERVER_IMPLEMENTATION.md section 5, for the
# Rust build). Untested on the machines this was written on: see README.md, "Docker".
#
#   docker build -t sgaps .
#   docker compose up          # GPU, ./data and ./checkpoints mounted, port 8000
#
# Two stages: the builder has Rust, CMake and a Python venv with torch (tch links the
# libtorch inside the torch wheel); the runtime keeps torch's shared libraries and the
# binary only.

ARG TORCH_VERSION=2.13.0

FROM rust:1-bookworm AS builder
ARG TORCH_VERSION
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
# torch: the libtorch that tch 0.26 expects; cmake >= 3.26: HDF5 is built from source.
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir "torch==${TORCH_VERSION}" "cmake>=3.26"
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    LIBTORCH_USE_PYTORCH=1 \
    CMAKE=/opt/venv/bin/cmake
WORKDIR /src
COPY . .
RUN cargo build --release --bin sgaps && cp target/release/sgaps /usr/local/bin/sgaps
# torch/lib and the CUDA libraries of the nvidia-* wheels, keeping their relative layout:
# libtorch_cuda.so finds them through rpaths of the form $ORIGIN/../../nvidia/*/lib.
RUN site=$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') \
    && mkdir -p /opt/torch-libs/torch \
    && cp -a "$site/torch/lib" /opt/torch-libs/torch/lib \
    && if [ -d "$site/nvidia" ]; then cp -a "$site/nvidia" /opt/torch-libs/nvidia; fi

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=builder /opt/torch-libs /opt/torch-libs
COPY --from=builder /usr/local/bin/sgaps /usr/local/bin/sgaps
# The binary's rpath names the builder's venv, which is not here.
ENV LD_LIBRARY_PATH=/opt/torch-libs/torch/lib
# data_root (data) is relative to the working directory; checkpoints are never looked up
# there by default, so the mounted folder is named (the default model is built in).
WORKDIR /app
ENV SGAPS_CHECKPOINT_DIR=/app/checkpoints
VOLUME ["/app/data", "/app/checkpoints"]
EXPOSE 8000
CMD ["sgaps", "serve", "server.host=0.0.0.0"]
