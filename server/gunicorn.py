"""Serving the app with gunicorn, configured from the command line."""
from __future__ import annotations

import gc

from gunicorn.app.base import BaseApplication

from server.app import create_app


class _Application(BaseApplication):
    def __init__(self, app, options: dict):
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            if key in self.cfg.settings:  # settings newer than the oldest gunicorn we support
                self.cfg.set(key, value)

    def load(self):
        return self.application


def serve(policy_set, bind: str, workers: int) -> None:
    # The app, its policy set and compiled rules are built once here and
    # shared by the forked workers (preload), so a worker starts instantly.
    app = create_app({"POLICY_SET": policy_set})
    # Everything loaded so far lives as long as the server: keep it out of the
    # garbage collector's scans, and so out of the workers' copy-on-write pages.
    gc.freeze()
    _Application(app, {"bind": bind, "workers": workers, "preload_app": True, "accesslog": None,
                       "graceful_timeout": 20, "timeout": 30, "proc_name": "supportpolicy",
                       # gunicorn 27's control socket sits at one path per user: two servers would share it.
                       "control_socket_disable": True}).run()
