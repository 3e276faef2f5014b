"""Tests of mailhunt.detect."""
