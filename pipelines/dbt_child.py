"""`fupin-dbt`: dbt, bound to the process that starts it.

dagster-dbt starts `dbt build` as a child process. If the run is killed (kill -9, OOM killer) the
child would live on as an orphan, still writing the working file while the next run starts. This
wrapper asks Linux to kill it when its parent dies (PR_SET_PDEATHSIG survives exec), then becomes
dbt. Elsewhere it simply runs dbt.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1
PARENT_ENV = "FUPIN_DBT_PARENT"  # the pid of the process that starts dbt, set by FupinDbtCliResource


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # The parent may have died before the request took effect (this process is then an orphan
    # already, its parent pid another one): exit instead of running dbt for nobody.
    expected = os.environ.get(PARENT_ENV)
    if expected and os.getppid() != int(expected):
        os._exit(1)


def main() -> None:
    dbt = Path(sys.executable).parent / "dbt"
    _die_with_parent()
    os.execv(dbt, [os.fspath(dbt), *sys.argv[1:]])


if __name__ == "__main__":
    main()
