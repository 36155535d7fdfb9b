"""python benchmarks/load: the load test (load.py says what it does)."""
import sys

from load import main

if __name__ == "__main__":
    sys.exit(main())
