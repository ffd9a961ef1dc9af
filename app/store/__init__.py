"""The conversation store: chat sessions and their messages, with tokens, cost and tool calls."""
