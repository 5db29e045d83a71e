"""bench: `make bench` — benchmarks that compare sohoa with its anchors in the same run."""
