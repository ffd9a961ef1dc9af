"""The demo shop: catalogue content and a deterministic generator of a shop's history."""
