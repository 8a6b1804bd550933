"""SIP user agent: sans-IO core (message, transaction, dialog, auth, endpoint) and its transport shell."""
