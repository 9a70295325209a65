"""Tests for etl.aws."""
