"""Extract: find files, fingerprint them and stream their rows."""
