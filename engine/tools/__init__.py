"""Tools over a policy set, for contract managers and CI: ``check`` (what validate reports),
``suites`` (policy tests and rule coverage), ``explain`` (why a request got its decision), ``impact``
(what a change changes), ``coverage_week`` (a customer's cover as a calendar) and ``terms_in_force``
(a customer's terms at a time, each with the file and line it comes from)."""
