"""Ticketing integrations: how a webhook payload becomes a decision request, read from an ``integration:`` file.

Each field of the decision request is read ``from`` a place in the payload
(a JSON Pointer) or always takes a ``value``; a ``map`` turns the ticketing
system's words into the policy's. The file is checked against its schema,
then against the rest of the set: the words it maps to must be channels and
categories some plan defines, the customers it names must exist, and the
attributes it sets must be ones some plan declares. Applying a mapping to a
payload is ``decide.payloads``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from supportpolicy.engine.errors import PolicyError
from supportpolicy.engine.load.domains import Domains
from supportpolicy.engine.load.files import Document
from supportpolicy.engine.load.yamlsource import child_path
from supportpolicy.engine.model import PolicyFile

SYSTEMS = ("zendesk", "jira")
# The decision request's fields a mapping sets, as JSON Pointers into the request, with the file's JSON path.
FIELDS = (("/customer", "customer"), ("/received_at", "received_at"), ("/channel", "channel"),
          ("/category", "category"), ("/requester/email", "requester.email"), ("/requester/name", "requester.name"),
          ("/ticket_id", "ticket_id"), ("/summary", "summary"))
REQUIRED = ("/customer", "/received_at", "/channel", "/category", "/requester/email")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def comparable_word(value) -> str:
    """How a payload's word is compared with a map's keys: surrounding spaces dropped, A-Z as a-z."""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return text.strip().translate(_ASCII_LOWER)


@dataclass(frozen=True)
class FieldMapping:
    """Where one field of the decision request comes from."""

    target: str  # the request field, as a JSON Pointer: /channel, /requester/email, /attributes/severity
    source: str | None  # a JSON Pointer into the payload; None when the field always takes ``value``
    value: object = None
    # comparable_word of a payload word -> the policy's value
    map: Mapping = field(default_factory=lambda: MappingProxyType({}))
    otherwise: object = None  # for a payload word the map does not list; None: refuse it
    default: object = None  # when the payload's field is missing, null or empty; None: refuse (if required)
    file: str = ""
    line: int = 1

    @property
    def required(self) -> bool:
        return self.target in REQUIRED

    @property
    def place(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Integration:
    """One version of a ticketing system's mapping."""

    file: PolicyFile
    fields: tuple  # FieldMapping, in FIELDS order, then the attributes in file order


def build_integration(doc: Document) -> tuple[Integration, list[PolicyError]]:
    """The mapping of a schema-valid ``integration:`` file (its well-formed fields), and its errors."""
    request = doc.source.data["request"]
    spots = [(target, _lookup(request, path)) for target, path in FIELDS]
    spots += [(f"/attributes/{name}", spec) for name, spec in request.get("attributes", {}).items()]
    fields, errors = [], []
    for target, spec in spots:
        if spec is None:
            continue
        at = json_path_of(target)
        problems = _field_errors(doc, spec, at)
        errors += problems
        if not problems:
            fields.append(_mapping(doc, target, spec, at))
    # The fields that are well formed, even beside one that is not, so the set can check them too.
    return Integration(doc.policy_file(), tuple(fields)), errors


def _spec_of(request: dict, target: str) -> dict:
    spec = request
    for part in target.strip("/").split("/"):
        spec = spec[part]
    return spec


def _lookup(request: dict, path: str):
    value = request
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _field_errors(doc: Document, spec: dict, at: str) -> list[PolicyError]:
    if ("from" in spec) == ("value" in spec):
        return [doc.source.error(at, "invalid_mapping", "give either `from` (a JSON Pointer into the payload, e.g. "
                                 "/ticket/id) or `value` (what the field always is), not both or neither")]
    if "value" in spec and set(spec) & {"map", "otherwise", "default"}:
        return [doc.source.error(at, "invalid_mapping", "a `value` is used as it is: `map`, `otherwise` and "
                                 "`default` apply only to what is read `from` the payload; remove them")]
    seen, errors = {}, []
    for key in spec.get("map", {}):
        word = comparable_word(key)
        if word in seen:
            errors.append(doc.source.error(f"{at}.map", "duplicate_key",
                                           f"{seen[word]!r} and {key!r} are the same word to the mapping, which "
                                           "compares words without regard to case and spaces; keep one"))
        seen.setdefault(word, key)
    return errors


def _mapping(doc: Document, target: str, spec: dict, at: str) -> FieldMapping:
    line, _ = doc.source.position(at)
    return FieldMapping(target, spec.get("from"), spec.get("value"),
                        MappingProxyType({comparable_word(k): v for k, v in spec.get("map", {}).items()}),
                        spec.get("otherwise"), spec.get("default"), doc.path, line)


def reference_errors(doc: Document, integration: Integration, domains: Domains | None, attributes,
                     customers) -> list[PolicyError]:
    """The words the mapping sends that the set does not know: channels and categories no plan defines,
    customers there are not, attributes no plan declares. ``domains`` (of every plan) with ``attributes`` (the
    names any plan declares), and ``customers`` (ids), are None when the files they come from could not all
    be read: then nothing is reported against them."""
    errors = []
    for mapping in integration.fields:
        at = json_path_of(mapping.target)
        known, what, code = _vocabulary(mapping.target, domains, customers)
        if mapping.target.startswith("/attributes/") and attributes is not None:
            name = mapping.target.rsplit("/", 1)[1]
            declared = set(attributes)
            if name not in declared:
                errors.append(doc.source.error(at, "unknown_attribute", f"no plan declares the attribute {name!r}; "
                                               f"plans declare: {', '.join(sorted(declared)) or 'none'}"))
        if known is None:
            continue
        for where, word in _words(_spec_of(doc.source.data["request"], mapping.target), at):
            if word not in known:
                errors.append(doc.source.error(where, code, f"{word!r} is not {what}; they are: "
                                               f"{', '.join(sorted(map(str, known)))}"))
    return errors


def _vocabulary(target: str, domains: Domains | None, customers):
    if target == "/customer":
        return (None if customers is None else set(customers)), "a customer of this policy set", "unknown_reference"
    if domains is None:
        return None, "", ""
    if target == "/channel":
        return set(domains.channels), "a channel any plan defines", "unknown_value"
    if target == "/category":
        return set(domains.categories), "a category any plan defines", "unknown_value"
    return None, "", ""


def _words(spec: dict, at: str):
    """Each word the mapping itself writes for a field (``spec``, as the file has it), with its JSON path."""
    if "value" in spec:
        yield at + ".value", spec["value"]
    for key, word in spec.get("map", {}).items():
        yield child_path(at + ".map", key), word
    for name in ("otherwise", "default"):
        if name in spec:
            yield f"{at}.{name}", spec[name]


def json_path_of(target: str) -> str:
    """Where the mapping of a request field (a JSON Pointer, /requester/email) is written in the file."""
    path = "$.request"
    for part in target.strip("/").split("/"):
        path = child_path(path, part)
    return path


def integration_stage(documents: list, plans_data: dict | None, customer_ids, by_path,
                      versions) -> tuple[dict, list]:
    """Each integration file's mapping, checked against the set (``plans_data``: plan id -> its versions'
    documents, None when the plans could not all be read; ``customer_ids``: None likewise); by system,
    its versions sorted by effective date (``versions``: assemble's, which refuses two versions sharing a
    number or a day)."""
    integrations, errors = [], []
    domains = attributes = None
    if plans_data is not None:
        every = [data for versions_of in plans_data.values() for data in versions_of]
        domains = Domains.of(every) if every else None
        attributes = {name for data in every for name in data.get("attributes", {})}
    for doc in documents:
        integration, problems = build_integration(doc)
        errors += problems + reference_errors(doc, integration, domains, attributes, customer_ids)
        if not problems:
            integrations.append(integration)
    by_id, problems = versions(integrations, by_path)
    return by_id, errors + problems
