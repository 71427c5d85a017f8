"""Reusable test helpers: AWS fault injection (``faults``) and truly overlapping calls (``concurrency``)."""
