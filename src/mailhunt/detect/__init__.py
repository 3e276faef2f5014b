"""Detection: analytics and rules as SQL over the store, run by one runner."""
