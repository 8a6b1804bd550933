"""SIP user agent: a sans-IO core (message, transaction, dialog, auth, call, endpoint)
and its asyncio transport shell."""
