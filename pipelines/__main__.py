"""`fupin` (the console script) and `python -m pipelines`: the command line, imported when it runs.

The process pool's workers first run again the script that started the run (multiprocessing does
that for a script's __main__, to find functions defined there): with pipelines.cli imported at the
script's top, each worker of `fupin run` also imported DuckDB and the warehouse code (~20 MiB a
worker, for nothing: the work they do is in pipelines.core.workers).
"""

from __future__ import annotations

import sys


def main() -> int:
    from pipelines.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
