# Multi-stage: build a virtualenv with the package (its data and migrations inside), then copy
# it into a clean image that runs as an unprivileged user.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY booking ./booking
COPY facilities_data ./facilities_data
COPY migrations ./migrations
RUN python3 -m venv /opt/booking && /opt/booking/bin/pip install --no-cache-dir .

FROM ${BASE_IMAGE}
# PostgreSQL's client tools: `booking db backup/restore` run pg_dump and pg_restore (bookworm's
# are 15; for a newer server, install that version's client from the PGDG repository).
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 booking \
    && mkdir -p /var/lib/booking && chown booking:booking /var/lib/booking
COPY --from=build /opt/booking /opt/booking
ENV PATH=/opt/booking/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    BOOKING_HOST=0.0.0.0 \
    BOOKING_PORT=8000 \
    BOOKING_DATA_DIR=/var/lib/booking \
    BOOKING_WORKERS=1
# Set BOOKING_DATABASE_URL=postgresql+asyncpg://user:password@host/db for production;
# without it the image keeps an embedded SQLite file in /var/lib/booking (mount a volume).
# Several server processes on the one port: BOOKING_WORKERS=N (about one per core), e.g.
#   docker run -e BOOKING_WORKERS=4 -e BOOKING_DATABASE_URL=... -p 8000:8000 booking
# Each holds up to BOOKING_DB_POOL_SIZE (10) connections: keep containers x workers x pool
# under PostgreSQL's max_connections. Several hosts: the same image on each, one database,
# a load balancer in front that checks /ready (README: production).
USER booking
WORKDIR /home/booking
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s \
    CMD python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"
CMD ["booking", "serve"]
