"""The agent: prompts, models (with an offline mode), tools of a turn, and the conversation record."""
