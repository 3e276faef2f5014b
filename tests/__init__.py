"""mailhunt test suite; mirrors the package layout."""
