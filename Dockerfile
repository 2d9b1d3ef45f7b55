FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY eslbridge ./eslbridge
RUN pip install --no-cache-dir .
USER nobody
ENTRYPOINT []
CMD ["eslbridge", "run"]
