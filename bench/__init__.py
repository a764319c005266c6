"""Benchmarks of Lightflow, side by side with Celery and Dask (see docs/benchmarks.md).

pip install '.[bench]' && python -m bench
"""
