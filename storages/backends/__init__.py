"""One module per provider; each holds a thin adapter over the provider's SDK."""
