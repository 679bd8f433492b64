"""Request plumbing: what stands between Slack's request and a listener (the guard,
the middleware, the after-ack pool, who is looking, the glue every surface shares,
metrics). Nothing here imports a listener."""
