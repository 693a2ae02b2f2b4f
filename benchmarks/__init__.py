"""Performance benchmark of the fupin pipeline (`python benchmarks/run.py`)."""
