# One image for every role (api, workers, beat, flower, migrate); the command picks the role.
# GPU workers: build with --build-arg EXTRAS=cuda (JAX's CUDA wheels carry the CUDA libraries;
# the host needs only the NVIDIA driver and the container toolkit).
FROM python:3.11-slim

ARG EXTRAS=""
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    NAUTILUS_VAR_DIR=/var/lib/nautilus \
    HOST=0.0.0.0 \
    PORT=8110

RUN useradd --create-home --uid 1000 nautilus \
    && mkdir -p /var/lib/nautilus && chown nautilus /var/lib/nautilus
WORKDIR /app
COPY . .
RUN pip install --upgrade pip \
    && if [ -n "$EXTRAS" ]; then pip install -e ".[$EXTRAS]"; else pip install -e .; fi

USER nautilus
EXPOSE 8110
HEALTHCHECK --interval=15s --timeout=5s --retries=5 CMD python -c \
    "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/health', timeout=4)" \
    || exit 1
CMD ["sh", "-c", "exec gunicorn -w ${WORKERS:-2} -b ${HOST}:${PORT} -c python:api.gunicorn_conf 'api:create_app()'"]
