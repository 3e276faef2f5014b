"""Tests of mailhunt.sources."""
