# One image for every Python process of Daiko: the three services and the worker.
FROM python:3.11.7-slim-bookworm
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY contracts ./contracts
COPY daiko ./daiko
COPY services ./services
COPY workflows ./workflows
COPY deploy ./deploy
RUN pip install --no-cache-dir . && useradd --system --uid 10001 daiko
USER daiko
EXPOSE 8101 8102 8103
CMD ["uvicorn", "services.orders.app:app", "--host", "0.0.0.0", "--port", "8101"]
