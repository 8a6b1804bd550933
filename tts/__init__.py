"""Text-to-speech: prompts rendered to 8 kHz μ-law, cached, with an offline fallback.

- `tts.renderer.Renderer`: what the dialer uses (render, render_async, cached, check_voice);
- `tts.templates.Template`: `{{customerName}}` placeholders filled from contact fields;
- engines behind `tts.engine.Engine`: `tts.espeak` (offline default), `tts.google` (gTTS,
  online, bounded by a timeout), `tts.piper` (optional local neural voice);
- `tts.voices`: Twilio-style voice and language attributes; `tts.cache`: prompts on disk.

Nothing is re-exported here, so importing templates does not load the engines.
"""
