"""The semantic layer: the business model as data (``prompts/semantic.yaml``) and one
compiler from typed queries to SQL, with periods, the values index and interpretations.

It sits below the tools and above the guard: it imports neither ``app.agent`` nor
``app.web`` nor ``app.tools``; compiled SQL is run by the caller's SQL executor.
"""
