"""python benchmarks/load: the load test (load.py says what it does)."""
from load import main  # first: load.py puts the benchmarks folder, common.py's, on sys.path

import common

if __name__ == "__main__":
    common.run(main)
