"""testkit: generators of Vietnamese test documents and degraded scans, with ground truth.

Used by the tests and the benchmarks; nothing here runs in production.
"""
