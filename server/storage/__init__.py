"""What the server keeps: the decision log (SQLite for one server, PostgreSQL for several).

Storage depends on the engine, never the other way: the engine decides and
keeps nothing.
"""
