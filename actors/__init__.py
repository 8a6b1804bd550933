"""Actor runtime and supervision (filled in by the campaign engine)."""
