"""The session store: recordings kept crash-safe in one SQLite database (WAL).

``schema`` opens the database and migrates it, ``recorder`` writes a live
session from its own thread, ``sessions`` reads sessions back, ``export``
turns one into CSV, an event list or EDF+, ``replay`` plays one through the
live pipeline, ``redetect`` re-analyses one, ``routes`` is the HTTP API.
See docs/recording.md.
"""

from twitchd.store.paths import database_path, default_data_dir

__all__ = ["database_path", "default_data_dir"]
