"""The web side of `dialer serve`: the agent console (and later the API and dashboard)."""
