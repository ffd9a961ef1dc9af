"""Prompt and model evaluation: golden questions, execution accuracy, reports.

``cases`` loads the golden questions, ``scoring`` compares query results (execution accuracy
in the manner of Spider and defog's sql-eval) and expected behaviours, ``runner`` asks the
agent and scores its answers, ``report`` writes JSON and markdown. The pytest interface lives
in ``tests/evals/``."""
