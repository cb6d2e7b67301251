# SocialGov: one image for the web app (`socialgov run`), the Celery worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SOCIALGOV_ENV=production \
    SOCIALGOV_STORAGE_DIR=/app/var/files

WORKDIR /app

COPY pyproject.toml README.md alembic.ini ./
COPY migrations ./migrations
COPY domain ./domain
COPY services ./services
COPY infra ./infra
COPY api ./api

# migrations/ is a package of the wheel, so the app can migrate on start-up from site-packages.
RUN pip install . \
 && useradd --system --uid 10001 --user-group --home-dir /app --no-create-home --shell /usr/sbin/nologin socialgov \
 && mkdir -p /app/var/files \
 && chown -R socialgov:socialgov /app/var

USER socialgov

EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health', timeout=4).status != 200)"]

CMD ["socialgov", "run", "--host", "0.0.0.0", "--port", "8000", "--no-demo"]
