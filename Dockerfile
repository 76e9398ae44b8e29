# Production image: gunicorn serves Django, whitenoise serves static files.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --create-home --uid 1000 salesladder

COPY requirements/base.lock requirements/base.lock
RUN pip install -r requirements/base.lock

COPY . .
# Translations are compiled from the committed .po files; static files are collected with a throwaway key.
RUN for domain in django djangojs; do \
      if ls locale/*/LC_MESSAGES/$domain.po >/dev/null 2>&1; then pybabel -q compile -d locale -D $domain; fi; \
    done \
 && DJANGO_SECRET_KEY=collectstatic-only DJANGO_ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput -v 0

USER salesladder
EXPOSE 8000
CMD ["gunicorn", "salesladder.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
