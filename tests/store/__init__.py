"""Tests of mailhunt.store."""
