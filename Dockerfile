# 涉税舆情值守机器人 — container image.
# Build:  docker build -t shuiwu-yuqing-bot .
# Screenshots of evidence pages need Chromium and Chinese fonts (about 400 MB more):
#         docker build --build-arg WITH_CHROMIUM=1 -t shuiwu-yuqing-bot .
# Known shortcoming (#8): not yet built in CI; this machine has no Docker daemon.
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
    && mkdir -p /app/data \
    && chown bot /app/data
USER bot

# Tickets, hits, evidence, exports and logs live here: mount a volume.
VOLUME ["/app/data"]
# The WeCom callback server ([server] host must be 0.0.0.0 inside a container).
EXPOSE 8080

# TODO(#8): HEALTHCHECK against /healthz once the health server runs in every mode.

CMD ["python", "-m", "bot", "--config", "/app/config.toml", "run"]
