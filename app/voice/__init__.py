"""Voice questions: a spoken question recorded in the chat (``recording``), turned into text by
the configured provider's speech-to-text (``transcription``), then answered as typed text."""
