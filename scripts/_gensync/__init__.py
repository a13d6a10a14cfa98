"""The machinery of ``scripts/gen_sync.py`` (which holds the rule table and the command line)."""
