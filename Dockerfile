# accountplan: the Slack app as a container image.
#
#   docker build -t accountplan .
#   docker run -e SLACK_BOT_TOKEN -e SLACK_SIGNING_SECRET -e DATABASE_URL -p 3000:3000 accountplan
#
# Configuration comes only from the environment at run time (README "Configuration");
# nothing secret is baked into the image. Run `accountplan db upgrade` once per release
# before the new containers start (e.g. `docker run --rm -e DATABASE_URL accountplan
# accountplan db upgrade`), and `accountplan doctor` the same way to check a setup.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Only what `pip install .` needs (see .dockerignore); the source goes once installed.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY blocks ./blocks
COPY storage ./storage
RUN pip install . \
    && cd / && rm -rf /src \
    && useradd --system --uid 10001 --user-group --create-home --home-dir /home/accountplan accountplan

# Not root. The home folder is writable: the default sqlite:///accountplan.db lands
# there for a first try; production sets DATABASE_URL=postgresql://…
USER accountplan
WORKDIR /home/accountplan

ENV PORT=3000
EXPOSE 3000

# GET /health answers 200 when the database answers (HTTP mode). Socket Mode serves no
# HTTP, so there the check passes as long as the process runs.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; os.environ.get('SLACK_APP_TOKEN') and sys.exit(0); urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '3000'), timeout=4)"]

# One worker process per CPU the container sees; set e.g. `accountplan serve --workers 2`
# to match the CPUs it is given.
CMD ["accountplan", "serve"]
