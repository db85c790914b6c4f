"""The `nautilus-bt` command line."""
