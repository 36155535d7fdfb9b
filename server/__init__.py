"""supportpolicy's HTTP API and command line: thin adapters over ``engine``."""
from server.app import create_app

__all__ = ["create_app"]
