"""Text-to-speech engines and prompt cache (filled in by the call-flow work)."""
