"""The Bolt app factory. Nothing runs at import; `create_app` builds a fresh app."""

from __future__ import annotations

import logging
import weakref
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot import listeners
from bot.listeners import commands as command_router
from bot.config import Settings, engine_of
from bot.runtime import middleware, ui
from bot.runtime.after_ack import AfterAck
from bot.slack.clients import TOKEN_ROTATION_MINUTES, make_client

# Bot scopes requested by the OAuth install; keep in step with app_manifest.yml
# (tests/test_manifest.py checks they agree).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "im:write",
    "im:history",
    "users:read",
    "channels:read",
    "groups:read",
    "im:read",
    "mpim:read",
    "canvases:write",
    "files:write",
    "team:read",
    "mpim:write",
)

# Listeners run in the HTTP thread (process_before_response=True): each acknowledges
# and hands its work to the after-ack pool (bot/runtime/after_ack.py), so the ack goes back as
# soon as the listener returns, without Bolt's 10 ms polling of a listener thread.
# This pool serves only Bolt's lazy listeners (none today). Before, with
# process_before_response=False, the HTTP thread waited (at most 3 s) for the listener to call ack(). A listener stuck in a slow
# Slack call (a 429 makes the client sleep for Retry-After) holds its thread, and a new
# request whose listener cannot start in time misses its ack. So the pool is sized well
# above the HTTP server's threads (bot/server.py) for bursts of slow listeners, while
# listeners hold a database connection only inside a short unit of work, so the pool
# may exceed the engine's connection pool without starving it.
LISTENER_THREADS = 32

log = logging.getLogger(__name__)

# Each app's after-ack pool (bot/runtime/after_ack.py), so that shutdown(app) can finish it.
_AFTER_ACK: weakref.WeakKeyDictionary[App, AfterAck] = weakref.WeakKeyDictionary()


def oauth_settings(settings: Settings, engine: Engine) -> OAuthSettings:
    """OAuth install flow with installations and states kept in the shared database."""
    assert settings.client_id and settings.client_secret
    installation_store = SQLAlchemyInstallationStore(client_id=settings.client_id, engine=engine)
    state_store = SQLAlchemyOAuthStateStore(expiration_seconds=600, engine=engine)
    # slack_sdk's own tables (slack_installations, slack_bots, slack_oauth_states),
    # apart from ours; create_all only adds what is missing.
    installation_store.create_tables()
    state_store.create_tables()
    result = OAuthSettings(
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        scopes=list(BOT_SCOPES),
        installation_store=installation_store,
        state_store=state_store,
        token_rotation_expiration_minutes=TOKEN_ROTATION_MINUTES,
    )
    # OAuthSettings' own authorize refreshes rotated tokens through a default client
    # (slack.com); this one goes through SLACK_API_URL and our retry handlers.
    result.authorize = InstallationStoreAuthorize(
        logger=log,
        installation_store=installation_store,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        token_rotation_expiration_minutes=TOKEN_ROTATION_MINUTES,
        client=make_client(settings),
    )
    return result


def create_app(
    settings: Settings,
    session_factory: sessionmaker[Session],
    *,
    request_verification: bool = True,
) -> App:
    """A new Bolt app: single workspace (SLACK_BOT_TOKEN) or OAuth (client id/secret).

    In single-workspace mode Bolt checks the token with auth.test here, so a wrong
    token fails at start-up (BoltError) rather than on the first request.
    """
    common = dict(
        name="accountplan",
        signing_secret=settings.signing_secret or "",
        request_verification_enabled=request_verification,
        process_before_response=True,  # ack in the request thread; slow work on the after-ack pool
        listener_executor=ThreadPoolExecutor(
            max_workers=LISTENER_THREADS, thread_name_prefix="listener"
        ),
    )
    if settings.oauth:
        app = App(
            client=make_client(settings),
            oauth_settings=oauth_settings(settings, engine_of(session_factory)),
            **common,
        )
        # tokens_revoked / app_uninstalled delete the installation (Bolt's listeners,
        # off unless asked for).
        app.enable_token_revocation_listeners()
    else:
        app = App(client=make_client(settings, settings.bot_token), **common)
    after_ack = AfterAck(report=ui.report_failure, on_overload=ui.report_overload)
    _AFTER_ACK[app] = after_ack
    middleware.install(app, session_factory, settings, after_ack,
                       command_words=frozenset(command_router.table_of(listeners.SURFACES)))
    app.error(ui.on_listener_error)  # failures before the ack: an answer, never a 500
    listeners.register(app)
    return app


def shutdown(app: App) -> None:
    """Let running listeners and their after-ack work finish, then stop both pools."""
    app.listener_runner.listener_executor.shutdown(wait=True, cancel_futures=False)
    after_ack = _AFTER_ACK.pop(app, None)
    if after_ack is not None:
        after_ack.shutdown()
