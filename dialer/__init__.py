"""Self-hosted outbound campaign dialer."""
