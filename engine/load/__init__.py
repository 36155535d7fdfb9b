"""Loading: policy files read with their positions, checked file by file, then as a whole set.

``yamlsource`` (YAML that remembers line and column) -> ``files`` (finding
and reading documents) -> ``schemas`` (each file against its JSON Schema) ->
``plans``, ``customers``, ``rulesets`` (what each kind of file means) with
``domains`` and ``analysis`` -> ``assemble`` (what only the whole set can
tell). ``validate`` runs them all. Every check returns its errors as values
with a place; nothing stops at the first.
"""
