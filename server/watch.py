"""Following changes to the policy folders: a reload once the files are complete and quiet.

An editor saving a file, a git checkout or a ConfigMap update changes
several files within a moment; the callback runs once, when the folders have
been quiet for ``debounce`` seconds and no file is still being written.

What counts: a file closed after writing, and anything created, deleted,
moved or renamed (folders and links too: a ConfigMap puts a new version in
force by renaming its ``..data`` link). A file that was modified but not yet
closed is still being written: a writer that pauses mid-file, even for longer
than the quiet period, holds the reload back until it closes the file (where
the system reports closes: inotify, on Linux; elsewhere every modification
counts, and only the quiet period protects). The reload itself reads the
files again after loading them and loads again if they changed meanwhile
(server.live), so a set is never put in force half-written either way.
"""
from __future__ import annotations

import os
import threading

from watchdog import events
from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer

try:
    from watchdog.observers.inotify import InotifyObserver
except ImportError:  # not Linux
    InotifyObserver = None

WATCHED = (".yaml", ".yml")
# Event types that change what is in the folders. Opening a file, or closing one only read, changes nothing.
CHANGES = ("created", "deleted", "moved", "modified", "closed")
# Asked of inotify, so that it reports nothing else: a reload opens and reads every file twice, and reports of
# those opens and closes (two for each of thousands of files) would only be filtered out here, meanwhile
# holding the interpreter from the reload itself (three times as slow).
EVENTS = [getattr(events, name) for name in (
    "FileCreatedEvent", "DirCreatedEvent", "FileDeletedEvent", "DirDeletedEvent", "FileMovedEvent", "DirMovedEvent",
    "FileModifiedEvent", "FileClosedEvent") if hasattr(events, name)]


class PolicyWatcher(FileSystemEventHandler):
    def __init__(self, folders, on_change, debounce: float = 0.5):
        self.folders = [str(f) for f in folders]
        self.on_change = on_change
        self.debounce = debounce
        self._timer = None
        self._lock = threading.Lock()
        self._writing: set[str] = set()  # files modified and not closed since
        self._observer = Observer()
        self._observer.daemon = True
        self._closes = InotifyObserver is not None and isinstance(self._observer, InotifyObserver)

    def on_any_event(self, event):
        kind = event.event_type
        if kind not in CHANGES:
            return
        source, destination = str(getattr(event, "src_path", "")), str(getattr(event, "dest_path", "") or "")
        if kind in ("modified", "closed") and (event.is_directory or not source.endswith(WATCHED)):
            return  # a folder's own times, or a file that is no policy file
        with self._lock:
            self._note_writing(kind, source, destination, event.is_directory)
            self._restart_timer()

    def _note_writing(self, kind: str, source: str, destination: str, is_directory: bool) -> None:
        # Only a modification seen tells of a writer: its close is then seen too. (A file found in a new
        # folder is reported created, but what was written before the folder was watched is not.)
        if not self._closes or is_directory:
            return
        if kind == "modified":
            self._writing.add(source)
        elif kind != "created":  # closed, deleted, or moved away: no longer written under that name
            self._writing.discard(source)
            self._writing.discard(destination)

    def _restart_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(self.debounce, self._quiet)
        self._timer.daemon = True
        self._timer.start()

    def _quiet(self) -> None:
        with self._lock:
            self._timer = None
            self._writing = {path for path in self._writing if os.path.lexists(path)}  # a removal it missed
            if self._writing:  # its close (or removal) restarts the timer
                return
        self.on_change()

    def recheck(self) -> None:
        """Report a change the watcher may not have seen (made before it watched) once the folders are quiet:
        not while a file it saw modified is still open for writing."""
        with self._lock:
            self._restart_timer()

    def start(self) -> "PolicyWatcher":
        for folder in self.folders:
            try:
                self._observer.schedule(self, folder, recursive=True, event_filter=EVENTS)
            except TypeError:  # a watchdog without event filters reports everything
                self._observer.schedule(self, folder, recursive=True)
        self._observer.start()
        return self

    def stop(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
        self._observer.stop()
