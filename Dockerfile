# 涉税舆情值守机器人 — container image.
# Build:  docker build -t shuiwu-yuqing-bot .
# Screenshots of evidence pages need Chromium and Chinese fonts (about 400 MB more):
#         docker build --build-arg WITH_CHROMIUM=1 -t shuiwu-yuqing-bot .
# Known shortcoming (#8): never built with Docker (the machines it was written on have
# no Docker daemon and no image registry). Its steps were replayed by hand on Debian 12
# with Python 3.11 (dependencies from pyproject.toml and bot/__init__.py alone, the
# code copied after, `check` and `run` as uid 10001, /healthz answering 200), and
# tests/test_healthz.py runs the HEALTHCHECK command below against a real bot. The
# compose file is untested.
FROM python:3.11-slim

ARG WITH_CHROMIUM=0
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN if [ "$WITH_CHROMIUM" = "1" ]; then \
        apt-get update \
        && apt-get install -y --no-install-recommends chromium fonts-noto-cjk \
        && rm -rf /var/lib/apt/lists/*; \
    fi

WORKDIR /app
# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
COPY bot/__init__.py bot/__init__.py
RUN pip install . && pip uninstall -y shuiwu-yuqing-bot

COPY bot bot
COPY templates templates
COPY lexicon lexicon
COPY config.toml config.toml

RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin bot \
    && mkdir -p /app/data /app/backups \
    && chown bot /app/data /app/backups
USER bot

# Tickets, hits, evidence, exports and logs live here: mount a volume.
# `python -m bot backup /app/backups/<name>` writes beside it (a second volume).
VOLUME ["/app/data", "/app/backups"]
# The WeCom callback server and /healthz, /metrics
# ([server] host must be 0.0.0.0 inside a container).
EXPOSE 8080

# `run` always serves /healthz on [server] host/port (200 while the scheduler is
# alive, 503 when it is stuck). No curl in the slim image: Python's urllib asks,
# bypassing any HTTP(S)_PROXY in the environment.
# Set BOT_HEALTH_URL if [server] port is not 8080.
ENV BOT_HEALTH_URL=http://127.0.0.1:8080/healthz
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.build_opener(u.ProxyHandler({})).open(os.environ['BOT_HEALTH_URL'], timeout=8)"]

CMD ["python", "-m", "bot", "--config", "/app/config.toml", "run"]
