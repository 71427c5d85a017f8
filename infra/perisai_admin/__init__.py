"""Operator tools run from a workstation against a deployed stack or the local runtime."""
