"""Normalisation: pure functions that turn contract-valid rows into warehouse-ready values."""
