"""`just bench`: run every benchmark and print scenario, ours, baseline, ratio."""

import sys

from tests.bench.registry import BENCHMARKS


def main() -> int:
    if not BENCHMARKS:
        print("no benchmarks are implemented yet (issue 9)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
