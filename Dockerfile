# One image for every Lightflow service; docker-compose.yml picks the command.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY protos protos
COPY sdk sdk
COPY services services
COPY cli cli
COPY examples examples
RUN pip install --no-cache-dir '.[examples]'
ENV LIGHTFLOW_LOG_LEVEL=info
