"""What people look at: results as tables and self-contained HTML reports (pure: documents in,
tables, bytes or HTML out; no I/O and no web framework)."""
