"""``python -m benchmarks``: see :mod:`benchmarks._run`."""

from benchmarks._run import main

main()
