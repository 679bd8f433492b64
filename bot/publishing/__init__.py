"""Posting a plan where others read it: digests and canvases, each checked against
the channel's audience at the moment of posting. Called by listeners and by the
scheduler's jobs; never calls them."""
