FROM python:3.11-slim
WORKDIR /srv
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY adapters ./adapters
COPY workers ./workers
COPY kb_client ./kb_client
COPY alembic ./alembic
RUN pip install --no-cache-dir -e .
EXPOSE 8000
CMD ["kb-ingest", "serve", "--host", "0.0.0.0", "--port", "8000"]
