"""Scheduled digests: a dashboard or a pinned answer sent daily or weekly (in the shop's
timezone) by e-mail and/or to a webhook, with the numbers, their change, the anomalies found
and the top drivers; run by ``bichat serve`` and ``bichat digest run``."""
