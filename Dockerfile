# syntax=docker/dockerfile:1
# The vowelseg service: runtime dependencies only, run as a non-root user.
#   docker build -t vowelseg . && docker run -p 8000:8000 vowelseg
# Debian bookworm with Debian's Python 3.11; the bundled models are installed
# with the package and the numba kernels are compiled at build time, so nothing
# is downloaded or compiled when a request comes in.
FROM debian:bookworm-slim

ARG DEBIAN_FRONTEND=noninteractive
# libsndfile1: audio decoding (soundfile); ca-certificates: pip over HTTPS.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends python3 python3-venv libsndfile1 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --uid 10001 --shell /usr/sbin/nologin vowelseg

ENV PATH=/opt/vowelseg/bin:$PATH \
    NUMBA_CACHE_DIR=/var/cache/vowelseg/numba \
    MPLCONFIGDIR=/var/cache/vowelseg/matplotlib \
    PYTHONUNBUFFERED=1

# The sources are copied to a build folder, installed, and removed again.
WORKDIR /build
COPY pyproject.toml README.md ./
COPY app app
COPY models models
# A build behind a TLS-inspecting proxy passes its CA bundle as the secret "ca"
# (buildah/docker build --secret id=ca,src=...); without it pip uses the image's.
RUN --mount=type=secret,id=ca,target=/run/secrets/ca \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
 && python3 -m venv /opt/vowelseg \
 && pip install --no-cache-dir --disable-pip-version-check -q . \
 && install -d -o vowelseg -g vowelseg /var/cache/vowelseg \
 && cd / && rm -rf /build
WORKDIR /home/vowelseg

USER vowelseg
# Compile the numba kernels (Viterbi, boundary posteriors, boundary trees) into
# NUMBA_CACHE_DIR once, on one second of noise, instead of on the first request.
RUN python3 -c "import numpy as np, soundfile as sf; \
sf.write('warm.wav', np.random.default_rng(0).normal(0, 0.1, 16000), 16000)" \
 && vowelseg segment warm.wav "ah" --no-speech-check > /dev/null \
 && rm warm.wav

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"
# Two worker processes (uvicorn replaces one that dies); limits via VOWELSEG_* variables.
CMD ["vowelseg", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
