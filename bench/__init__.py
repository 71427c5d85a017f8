"""`make bench`: cold starts, AWS work per operation, handler overhead, growth with table size,
cost model and deployment size, each against its budget (docs/BENCHMARKS.md).

Not part of `make test`: it measures, it does not assert. Run with `python -m bench`.
"""
