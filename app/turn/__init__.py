"""One turn: a question's whole life, from its row in the store to its answer or error.

Channels (chat, ``bichat ask``, later REST and MCP) call ``Turns.stream`` (or ``ask``) and
render the typed events of ``app.turn.events``; ``TurnWriter`` is the only writer of a turn's
rows; answerers (``app.agent``) run below the turn and never write the store."""
