"""The baseline: a bare Bolt app doing the least work, on the same server as ours.

It answers `/accountplan` with an empty ack and nothing else, behind the same waitress
set-up (threads) as `accountplan serve`. Run by bench_slack_ack.py with PORT,
SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and SLACK_API_URL in the environment.
"""

from __future__ import annotations

import os

import waitress
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bot.server import HTTP_THREADS


def main() -> None:
    client = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    app = App(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])

    @app.command("/accountplan")
    def answer(ack):
        ack()

    handler = SlackRequestHandler(app, path="/slack/events")

    def wsgi(environ, start_response):
        if environ.get("PATH_INFO") == "/health":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        return handler(environ, start_response)

    waitress.serve(wsgi, host="127.0.0.1", port=int(os.environ["PORT"]), threads=HTTP_THREADS,
                   _quiet=True)


if __name__ == "__main__":
    main()
