# One image for every Python process of Daiko: the three services, the PayPal sandbox, the worker
# and the one-shot `setup` (docker-compose.yml). Built from locked dependencies only:
# - uv and setuptools from deploy/image-build-requirements.txt, every file checked against its hash;
# - the dependencies from uv.lock with `uv sync --frozen` (the lock as committed, never re-resolved;
#   uv checks every file against the lock's hash), without extras (the dev extra is the test tools);
# - the project itself as a wheel (no source tree in the final image: what runs is what is installed,
#   deploy/topics.yaml travels inside it as daiko/topics.yaml).
# Runs as the unprivileged user daiko (10001); state and photos under /var/lib/daiko, owned by it.
FROM python:3.11.7-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PROJECT_ENVIRONMENT=/opt/daiko UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_NO_CACHE=1
COPY deploy/image-build-requirements.txt /tmp/image-build-requirements.txt
RUN pip install --require-hashes --no-deps -r /tmp/image-build-requirements.txt
WORKDIR /src
COPY pyproject.toml uv.lock ./
# The dependencies alone first: this layer changes only with the lock.
RUN uv sync --frozen --no-install-project --python /usr/local/bin/python3.11
COPY README.md ./
COPY contracts ./contracts
COPY daiko ./daiko
COPY services ./services
COPY workflows ./workflows
COPY devstack ./devstack
COPY deploy/topics.yaml ./deploy/topics.yaml
RUN pip wheel --no-deps --no-build-isolation --wheel-dir /dist . \
 && uv pip install --python /opt/daiko/bin/python --no-deps /dist/daiko-*.whl \
 && cd / && /opt/daiko/bin/python -c "import daiko.topics as t; f = t.TOPICS_FILE; assert f.is_file() and f.is_relative_to('/opt/daiko'), f"

FROM python:3.11.7-slim-bookworm
ENV PYTHONUNBUFFERED=1 PATH=/opt/daiko/bin:$PATH DAIKO_STATE_DIR=/var/lib/daiko
RUN groupadd --system --gid 10001 daiko \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/daiko --no-create-home --shell /usr/sbin/nologin daiko \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/daiko /var/lib/daiko/attachments
COPY --from=build /opt/daiko /opt/daiko
COPY deploy/healthcheck.py /usr/local/bin/daiko-healthcheck
WORKDIR /var/lib/daiko
USER 10001:10001
EXPOSE 8101 8102 8103 8104
# For the default command (orders); docker-compose.yml gives each service its own check.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["daiko-healthcheck", "http", "http://127.0.0.1:8101/healthz"]
CMD ["uvicorn", "services.orders.app:app", "--host", "0.0.0.0", "--port", "8101"]
