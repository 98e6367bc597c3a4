"""The web layer's routes, one module per part of the HTTP API.

Each ``add_*_routes(app)`` takes the running daemon (twitchd.daemon.Daemon)
from ``app.state.daemon``, which twitchd.api sets before it adds them; none
of these modules imports twitchd.api, and nothing below the web layer
imports them (tests/test_layers.py).
"""
