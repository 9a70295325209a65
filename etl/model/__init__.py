"""Model: the star schema's table specifications and the pure builders of its rows."""
