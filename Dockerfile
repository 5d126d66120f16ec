# vowelseg service: `docker build -t vowelseg . && docker run -p 8000:8000 vowelseg`
# Same install steps as CI (.ci/install); the bundled model in models/ is baked in,
# nothing is downloaded at run time.
FROM python:3.11-slim-bookworm
WORKDIR /srv/vowelseg
COPY . .
RUN bash .ci/install && rm -rf /var/lib/apt/lists/* /root/.cache
# Compile the numba Viterbi once at build time, not on the first request.
RUN espeak-ng -w hello.wav "hello world" && \
    vowelseg segment hello.wav "hello world" > /dev/null && rm hello.wav
EXPOSE 8000
# Two worker processes (uvicorn replaces one that dies); limits via VOWELSEG_* variables.
CMD ["vowelseg", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
