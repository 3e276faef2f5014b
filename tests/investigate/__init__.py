"""Tests of mailhunt.investigate."""
