"""Routes, one module per area of the API; each translates HTTP to one service call."""
