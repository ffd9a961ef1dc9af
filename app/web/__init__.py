"""The web application: the Chainlit chat (and, next, the admin pages) in one FastAPI app."""
