"""Benchmarks of newsarchive: fetching, parsing, extraction and the whole pipeline side by side.

Run ``python -m bench`` from the repository root; see ``docs/performance.md``.
"""
