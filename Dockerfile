# briefbot as a container: `docker compose up -d` (see compose.yaml and docs/docker.md).
#
# Two stages: `build` compiles and installs everything into a virtual environment at /opt/venv;
# the runtime stage copies only that venv onto a clean base, so compilers, caches and the
# source tree never reach the image. Copy the venv, not site-packages: Debian-built Pythons keep
# global packages in dist-packages, and a venv works the same on every python:3.11 base.

FROM python:3.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# wordllama ships x86-64 wheels only: on arm64 pip builds it from source, which needs a C++
# compiler. Installed on every architecture so the build is the same everywhere; it stays in
# this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ \
 && rm -rf /var/lib/apt/lists/*

# --upgrade-deps: a current pip, which reads extras the way today's packages spell them
# (justext needs lxml[html_clean]; an old pip silently skips it and full-text fetching breaks).
RUN python -m venv --upgrade-deps /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies first, from pyproject.toml alone: this slow layer is reused until they change.
COPY pyproject.toml ./
RUN python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
      > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt

# Then the project itself (.dockerignore lets in only pyproject, README, bot/ and cogs/).
COPY . .
RUN pip install --no-deps . && briefbot version


FROM python:3.11-slim-bookworm

LABEL org.opencontainers.image.title="briefbot" \
      org.opencontainers.image.description="A self-hosted Discord bot that turns news feeds into condensed, topic-grouped digests." \
      org.opencontainers.image.licenses="MIT"

# A fixed, unprivileged uid/gid, so a bind-mounted data folder can be prepared with
# `chown 10001:10001 DIR`; change them with --build-arg APP_UID=... --build-arg APP_GID=...
ARG APP_UID=10001
ARG APP_GID=10001
RUN groupadd --gid "$APP_GID" briefbot \
 && useradd --no-log-init --uid "$APP_UID" --gid "$APP_GID" --home-dir /home/briefbot \
      --create-home --shell /usr/sbin/nologin briefbot \
 && mkdir -p /data /config \
 && chown "$APP_UID:$APP_GID" /data \
 && chmod 0750 /data

COPY --from=build /opt/venv /opt/venv

# The database lives on the /data volume. The config file is read from /config/config.toml
# when one is mounted there (BRIEFBOT_DEFAULT_CONFIG; built-in defaults otherwise). The token
# comes from the environment at run time (DISCORD_TOKEN); no secret is ever part of the image.
ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    BRIEFBOT_DATABASE=/data/briefbot.sqlite3 \
    BRIEFBOT_DEFAULT_CONFIG=/config/config.toml
WORKDIR /data
VOLUME ["/data"]
USER ${APP_UID}:${APP_GID}

# Healthy while `briefbot run` keeps writing its heartbeat to the database (every 30 s by
# default; stale after 90 s or three intervals). The first minute is allowed for start-up.
HEALTHCHECK --interval=30s --timeout=15s --start-period=60s --retries=3 \
  CMD ["briefbot", "health"]

ENTRYPOINT ["briefbot"]
CMD ["run"]
