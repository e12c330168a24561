"""Use cases, one module per noun. Raise domain errors from ``errors``; know nothing of HTTP."""
