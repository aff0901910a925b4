"""Demo and test data: a deterministic county, and the council's 2024/25 calendar."""
