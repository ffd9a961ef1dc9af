"""What the turn (``app.turn``) and its answerers (``app.agent``, later a no-model engine) share:
the question an answerer is given and the events it reports. It sits below both, so an
answerer never imports the turn that runs it."""
