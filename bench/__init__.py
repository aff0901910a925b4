"""County-scale benchmarks (issue 7): `python -m bench` writes bench/RESULTS.md."""
