"""Benchmarks of jetraw against its peers (DESIGN §11): ``python -m benchmarks``.

Not part of the test suite; see ``benchmarks/RESULTS.md`` for the last run.
"""
