"""Hardware doctor (what fits, how long, what it costs) and the benchmark runner."""
