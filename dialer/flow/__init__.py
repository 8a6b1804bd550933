"""Call flows: TwiML documents, their validation and their execution on a call."""
