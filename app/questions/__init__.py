"""The question engine: answers without a language model (see README "Answers without a model")."""
