"""bichat: a natural-language business-intelligence chatbot for online shops."""
