"""Investigation: typed answers (evidence, alerts, incidents) for the CLI and reports."""
