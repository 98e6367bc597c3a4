"""twitchd: flags local twitch responses in EMG against the applied pressure."""

__version__ = "0.1.0"
