"""Canvases on Slack's side: write one (edit it in place, or create it again when
someone deleted it) and find its URL. What goes in it and who may see it is
bot/publishing/canvas_posts.py's."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

GONE = {"canvas_not_found", "canvas_deleted", "file_not_found", "file_deleted", "not_found"}


def _document(markdown: str) -> dict[str, str]:
    return {"type": "markdown", "markdown": markdown}


def write_canvas(client: WebClient, canvas_id: str | None, title: str, markdown: str) -> tuple[str, bool]:
    """Edit the canvas in place, or create it (again): (canvas id, created)."""
    if canvas_id:
        try:
            client.canvases_edit(canvas_id=canvas_id,
                                 changes=[{"operation": "replace", "document_content": _document(markdown)}])
            return canvas_id, False
        except SlackApiError as error:
            if error.response.get("error") not in GONE:
                raise
            log.info("canvas %s is gone; creating it again", canvas_id)
    response = client.canvases_create(title=title, document_content=_document(markdown))
    return response["canvas_id"], True


def canvas_url(client: WebClient, canvas_id: str) -> str:
    """https://<workspace>.slack.com/docs/<team>/<canvas>, from auth.test."""
    identity = client.auth_test()
    base = str(identity.get("url") or "https://slack.com/").rstrip("/")
    return f"{base}/docs/{identity.get('team_id')}/{canvas_id}"
