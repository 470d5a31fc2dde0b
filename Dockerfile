# vibe: the paper-trading service (and its dashboard) in one image. docs/deploy.md explains it.
#   docker build -t vibe .            docker compose up -d      (docker-compose.yml)
# Stage 1 builds the wheel; stage 2 installs it into a slim runtime and runs as a non-root user.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM ${PYTHON_IMAGE} AS runtime
# the extras installed: the service, the dashboard, S3-compatible sync (sync-gcs / sync-azure too if needed)
ARG VIBE_EXTRAS=live,panel,sync-s3
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TRADING_ENV=prod VIBE_CACHE_DIR=/app/var/cache
RUN groupadd --system --gid 10001 vibe && useradd --system --uid 10001 --gid vibe --create-home vibe
COPY --from=build /wheels /wheels
RUN pip install "$(ls /wheels/*.whl)[${VIBE_EXTRAS}]" && rm -rf /wheels
WORKDIR /app
COPY config ./config
RUN mkdir -p /app/var && chown vibe:vibe /app/var
USER vibe
VOLUME ["/app/var"]
EXPOSE 8080
# SIGTERM reaches vibe-live itself (exec-form ENTRYPOINT: no shell in between): it stops intake,
# flattens, snapshots and sends the final copy of the store, within service.shutdown_timeout_s.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('VIBE__API__PORT', '8080'); answer = urllib.request.urlopen(f'http://127.0.0.1:{port}/health/live', timeout=4); sys.exit(0 if answer.status == 200 else 1)"]
ENTRYPOINT ["vibe-live"]
CMD ["run", "--env", "prod", "--log-format", "json"]
