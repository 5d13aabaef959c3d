# One image for the worker, the API and the start-up job of docker-compose.yml. The whole
# project is the build context (.dockerignore leaves out tests, data and local tools), so a
# new package or data file cannot be forgotten here; tests/test_packaging.py installs the
# same context and runs it.
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 audit
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir . && rm -rf /app/build
USER audit
ENV DATA_DIR=/home/audit/data
CMD ["customs-audit", "api"]
