# mailroom: one image for the API, the workers and beat (docker-compose.yml). Slim, non-root, Tesseract + German.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# the fonts of the generated training mail (mailroom models prepare, below)
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-dejavu-core fonts-liberation \
 && rm -rf /var/lib/apt/lists/*
# exactly the packages of the lock file, hash-checked (scripts/lock.sh regenerates it)
COPY requirements.lock ./
RUN python -m venv /opt/mailroom \
 && /opt/mailroom/bin/pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY mailroom ./mailroom
COPY intake ./intake
COPY classifiers ./classifiers
COPY extraction ./extraction
COPY rules ./rules
COPY routing ./routing
COPY webhooks ./webhooks
COPY workers ./workers
COPY api ./api
COPY cli ./cli
COPY sample_docs ./sample_docs
RUN /opt/mailroom/bin/pip install --no-deps --no-build-isolation . \
 && MAILROOM_MODELS_CACHE_DIR=/opt/mailroom/share/default-models /opt/mailroom/bin/mailroom models prepare

FROM python:3.11-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-deu tesseract-ocr-eng tesseract-ocr-osd poppler-utils \
      fonts-dejavu-core fonts-liberation fonts-urw-base35 curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --uid 10001 mailroom \
 && mkdir -p /data && chown mailroom:mailroom /data
COPY --from=build /opt/mailroom /opt/mailroom
ENV PATH=/opt/mailroom/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    OMP_THREAD_LIMIT=1 \
    MAILROOM_DATA_DIR=/data \
    MAILROOM_MODELS_CACHE_DIR=/opt/mailroom/share/default-models \
    MAILROOM_LOG_FORMAT=json \
    MAILROOM_LOG_LEVEL=INFO
USER mailroom
WORKDIR /home/mailroom
VOLUME ["/data"]
EXPOSE 8000
# the API's check; the worker containers (docker-compose.yml) use `mailroom health worker [--beat]` (heartbeats)
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
CMD ["mailroom", "serve", "--host", "0.0.0.0", "--port", "8000"]
