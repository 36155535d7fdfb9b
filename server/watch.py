"""Following changes to the policy folders, with a short debounce.

An editor saving a file, or a git checkout, changes several files within a
moment; the callback runs once, when the folders have been quiet for
``debounce`` seconds.
"""
from __future__ import annotations

import threading

from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer

WATCHED = (".yaml", ".yml")


class PolicyWatcher(FileSystemEventHandler):
    def __init__(self, folders, on_change, debounce: float = 0.5):
        self.folders = [str(f) for f in folders]
        self.on_change = on_change
        self.debounce = debounce
        self._timer = None
        self._lock = threading.Lock()
        self._observer = Observer()
        self._observer.daemon = True

    def on_any_event(self, event):
        paths = [getattr(event, "src_path", ""), getattr(event, "dest_path", "")]
        if event.event_type in ("opened", "closed_no_write") or not (
                event.is_directory or any(str(p).endswith(WATCHED) for p in paths)):
            return
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.debounce, self.on_change)
            self._timer.daemon = True
            self._timer.start()

    def start(self) -> "PolicyWatcher":
        for folder in self.folders:
            self._observer.schedule(self, folder, recursive=True)
        self._observer.start()
        return self

    def stop(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
        self._observer.stop()
