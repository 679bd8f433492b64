"""The scheduler: the pass (bot/scheduler/passes.py) and its jobs, each
`job(context: JobContext, now) -> messages sent`."""
