# Production image: gunicorn serving config.wsgi. docker-compose.yml runs the same image as
# web, Celery worker and Celery beat. No secret is baked in: SECRET_KEY, PORTAL_MASTER_KEY,
# DATABASE_URL and REDIS_URL come from the environment at run time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    PORTAL_DATA_DIR=/var/lib/portal \
    MEDIA_ROOT=/var/lib/portal/media

# gettext: compilemessages below. postgresql-client: pg_dump, from which a new enterprise's schema
# is built (tenants/provisioning.py; Debian bookworm's 15 matches docker-compose's postgres:15 —
# without it provisioning falls back to the slower clone_schema).
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext postgresql-client \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .

# Build-time placeholders so the settings import; nothing connects to them.
RUN SECRET_KEY=build-only PORTAL_MASTER_KEY=build-only \
    DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    sh -c 'python manage.py compilemessages && python manage.py collectstatic --noinput'

# The code stays root-owned and read-only to the app; only the data dir is writable.
RUN useradd --system --user-group --home-dir /var/lib/portal portal \
    && mkdir -p /var/lib/portal/media \
    && chown -R portal:portal /var/lib/portal
USER portal

EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
