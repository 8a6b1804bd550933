"""Media plane: RTP, G.711, SDP, DTMF (core) and the media clock and sessions (shell)."""
