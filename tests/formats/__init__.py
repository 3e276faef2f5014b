"""Tests of mailhunt.formats."""
