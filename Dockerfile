# newsarchive: the scheduler that crawls world news on a timetable and archives every version.
#
#   docker build -t newsarchive .
#   docker run -d --name newsarchive -v newsarchive-data:/data -p 9410:9410 newsarchive
#
# See docs/container.md. The base image is pinned by tag; pin it by digest too for byte-for-byte
# rebuilds (python:3.11-slim-bookworm@sha256:...).

# --- builder: resolve the pinned dependencies into /opt/venv and build the newsarchive wheel ---
FROM python:3.11-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1 \
    PYTHONDONTWRITEBYTECODE=1

# The pip that ships with the base image predates PEP 685 extras matching, which the pinned
# dependencies rely on (justext asks for lxml[html_clean]).
RUN python -m venv /opt/venv \
 && /opt/venv/bin/python -m pip install --no-cache-dir pip==26.3

WORKDIR /src

# Dependencies first, from constraints.txt alone: this layer is rebuilt only when the pins change.
COPY constraints.txt ./
RUN /opt/venv/bin/python -m pip install --no-cache-dir --requirement constraints.txt

# Then newsarchive itself. --no-index: every dependency must already be installed from
# constraints.txt, so a dependency added to pyproject.toml without regenerating the pins fails the
# build instead of slipping in unpinned.
COPY . .
RUN /opt/venv/bin/python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
 && /opt/venv/bin/python -m pip install --no-cache-dir --no-index -c constraints.txt /wheels/newsarchive-*.whl \
 && /opt/venv/bin/python -m pip check

# --- final: the venv on a clean base, run as an unprivileged user ---
FROM python:3.11-slim-bookworm

LABEL org.opencontainers.image.title="newsarchive" \
      org.opencontainers.image.description="Archive world news for researchers: crawl, extract, and keep every version of every article." \
      org.opencontainers.image.licenses="Apache-2.0"

# A fixed UID/GID so that volumes, bind mounts and Kubernetes securityContext can name it.
ARG APP_UID=10001
ARG APP_GID=10001
RUN groupadd --gid "${APP_GID}" newsarchive \
 && useradd --no-log-init --uid "${APP_UID}" --gid "${APP_GID}" \
        --home-dir /home/newsarchive --create-home --shell /usr/sbin/nologin newsarchive \
 && install -d -o "${APP_UID}" -g "${APP_GID}" -m 0750 /data /data/archive /data/state

# Owned by root: the application cannot modify its own code.
COPY --from=builder /opt/venv /opt/venv

ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ARCHIVE_URI=/data/archive \
    ARCHIVE_STATE_DIR=/data/state \
    ARCHIVE_METRICS_PORT=9410

WORKDIR /data
VOLUME ["/data"]
USER ${APP_UID}:${APP_GID}

EXPOSE 9410

# slim images have no curl. urllib raises on a refused connection and on any non-2xx answer
# (503 while unhealthy), so the exit status is the verdict. No proxy: HTTP_PROXY, set for the
# crawls, must not carry the loopback request away. Exec form, no shell: Python reads the port
# itself, as ${ARCHIVE_METRICS_PORT:-9410} would.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; port = os.environ.get('ARCHIVE_METRICS_PORT') or '9410'; r.build_opener(r.ProxyHandler({})).open(f'http://127.0.0.1:{port}/healthz', timeout=5).close()"]

# On SIGTERM the scheduler starts no new run and gives running crawls ARCHIVE_SHUTDOWN_GRACE
# (60 s by default) to finish; Docker's own grace must be longer: docker stop -t 90.
STOPSIGNAL SIGTERM
ENTRYPOINT ["newsarchive", "schedule"]
# Arguments after the image name go to the scheduler: `docker run newsarchive --once`.
CMD []
