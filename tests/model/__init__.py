"""Tests of mailhunt.model."""
