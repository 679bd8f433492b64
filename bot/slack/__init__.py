"""Calls to Slack's Web API outside Bolt's own, and their pace: clients per workspace,
the shared rate budget, DMs, channels (who reads them, posting there), Slack's
error codes. The bottom of bot/: it imports nothing of bot/ but bot/config.py."""
