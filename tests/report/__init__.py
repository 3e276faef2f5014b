"""Tests of mailhunt.report."""
