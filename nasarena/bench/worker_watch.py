"""Pool workers end when the study process that started them is gone.

Why: after ``kill -9`` of ``nasarena run``, its pool workers are children of the forkserver, not of
the killed process, and each holds both ends of its own call-queue pipe and the forkserver's
"parent alive" pipe, so neither the workers nor the forkserver ever see end-of-file: they idled
forever (seen here: dozens of orphans after an afternoon of killed studies). Each worker therefore
watches its study process from a daemon thread and exits when it is gone; the forkserver and the
resource tracker then see their pipes close and exit too.

Trade-off: one ``psutil`` call per second per worker (microseconds). A worker killed this way in the
middle of writing leaves only a temporary file, which the next resume removes (``clean_stale_temps``).
"""

from __future__ import annotations

import os
import threading
import time

import psutil

#: Seconds between two looks at the study process.
INTERVAL = 1.0


def start_watch(parent: int, interval: float = INTERVAL) -> threading.Thread | None:
    """Exit this process (``os._exit``) once process ``parent`` has ended; returns the watcher.

    The parent is identified by pid *and* start time, so a recycled pid is not mistaken for it.
    Returns ``None`` (and watches nothing) when the parent is already gone or cannot be inspected.
    """
    try:
        born = psutil.Process(parent).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    thread = threading.Thread(target=_watch, args=(parent, born, interval), daemon=True,
                              name="nasarena-study-watch")
    thread.start()
    return thread


def alive(parent: int, born: float) -> bool:
    """Whether the process ``parent`` started at ``born`` still runs (a zombie does not)."""
    try:
        proc = psutil.Process(parent)
        return proc.create_time() == born and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def _watch(parent: int, born: float, interval: float) -> None:
    while alive(parent, born):
        time.sleep(interval)
    os._exit(1)  # no cleanup handlers: the study that wanted our results is gone
