FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends gettext postgresql-client && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY portal ./portal
COPY ledger ./ledger
COPY targets ./targets
COPY inspections ./inspections
COPY insurance ./insurance
RUN pip install --no-cache-dir .
COPY . .
RUN DJANGO_SECRET_KEY=build-only python manage.py compilemessages --ignore=.venv -v 0 \
 && DJANGO_SECRET_KEY=build-only python manage.py collectstatic --no-input -v 0
RUN useradd --create-home --uid 1000 portal && mkdir -p /app/media /app/var && chown -R portal /app/media /app/var
USER portal
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000"]
