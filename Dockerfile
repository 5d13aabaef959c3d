# One image for the worker, the API and the start-up job of docker-compose.yml.
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 audit
WORKDIR /app
COPY pyproject.toml README.md ./
COPY api api
COPY activities activities
COPY db db
COPY domain domain
COPY templates templates
COPY workflows workflows
COPY cli.py config.py devserver.py worker.py ./
RUN pip install --no-cache-dir .
USER audit
ENV DATA_DIR=/home/audit/data
CMD ["customs-audit", "api"]
