"""The agent's seeded shop and its factory of turns (``tests/app/agent/conftest.py``)."""

from tests.app.agent.conftest import embeddings, make_agent, shop, tools

__all__ = ["embeddings", "make_agent", "shop", "tools"]
