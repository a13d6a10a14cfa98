"""`jetraw server` (owned by the reference-platform work)."""
