"""A request body naming a key twice in one object is refused, at any depth, naming the key and its object.

orjson, like most parsers, keeps the last of two equal keys; a front end or a
log reader that keeps the first would see another request than the one decided.
"""
from __future__ import annotations

import json

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from supportpolicy.engine.decide.request import decode_json
from supportpolicy.engine.errors import MalformedRequest

REQUEST = ('{"customer": "demo-city", "received_at": "2026-11-27T10:00:00-06:00", "channel": "email", '
           '"requester": {"email": "resident@example.org"}, "category": "usage_question"}')


def refusal(raw) -> MalformedRequest:
    with pytest.raises(MalformedRequest) as caught:
        decode_json(raw)
    return caught.value


def named(error: MalformedRequest) -> list[tuple]:
    return [(e["pointer"], e["key"]) for e in (f.as_dict() for f in error.errors)]


def test_two_requesters_at_the_top_level_are_refused_naming_the_key():
    raw = REQUEST[:-1] + ', "requester": {"email": "it.director@demo-city.gov"}}'
    error = refusal(raw.encode())
    assert (error.status, error.slug) == (400, "malformed-json")
    assert named(error) == [("", "requester")]
    assert '"requester"' in error.detail and "top level" in error.detail
    assert error.errors[0].as_dict() == {"pointer": "", "key": "requester",
                                         "detail": 'holds the key "requester" more than once'}


def test_a_key_twice_in_the_requester_is_named_with_the_requesters_pointer():
    raw = REQUEST.replace('{"email": "resident@example.org"}',
                          '{"email": "resident@example.org", "name": "Pat", "email": "it.director@demo-city.gov"}')
    error = refusal(raw)
    assert named(error) == [("/requester", "email")]
    assert '"email"' in error.detail and "/requester" in error.detail


def test_a_key_twice_in_an_object_inside_an_array_is_named_with_its_index():
    raw = REQUEST[:-1] + ', "extra": [{"a": 1}, {"b": {"c": 1, "d": 2, "c": 3}}]}'
    assert named(refusal(raw)) == [("/extra/1/b", "c")]


@pytest.mark.parametrize("written", [r'"r\u0065quester"', r'"\u0072\u0065\u0071\u0075\u0065\u0073\u0074\u0065\u0072"',
                                     r'"requeste\u0072"', r'"requ\u0065st\u0065r"'])
def test_keys_that_differ_only_by_escapes_are_the_same_key(written):
    raw = REQUEST[:-1] + f', {written}: {{"email": "it.director@demo-city.gov"}}}}'
    assert named(refusal(raw)) == [("", "requester")]


@pytest.mark.parametrize("raw", [
    '{"a": 1, "a" : 2}', '{"a": 1, "a"\n:\t2}', '{"a":1,"a":2}', '{ "a" :1 , "a" :2 }', '{"a": 1, "\\u0061": 2}',
])
def test_any_whitespace_before_the_colon_is_seen(raw):
    assert named(refusal(raw)) == [("", "a")]


def test_every_duplicated_key_is_named_once():
    raw = '{"a": 1, "a": 2, "a": 3, "b": {"x": [], "y": 0, "x": null}, "b": {"z": 1, "z": 2}}'
    assert sorted(named(refusal(raw))) == [("", "a"), ("", "b"), ("/b", "x"), ("/b", "z")]


def test_a_key_repeated_a_hundred_thousand_times_is_one_error():
    raw = "{" + ",".join(['"a": 1'] * 100_000) + ', "b": {"c": [{"d": 1, "d": 2}]}}'
    error = refusal(raw.encode())
    assert named(error) == [("", "a"), ("/b/c/0", "d")]
    assert len(error.detail) < 300


def test_a_repeated_key_inside_the_value_a_later_key_replaces_is_named_too():
    # orjson keeps the second "b"; the first, which a reader keeping the first key sees, repeats "x".
    raw = '{"b": {"x": 1, "x": 2}, "b": {"y": 1}}'
    assert sorted(named(refusal(raw))) == [("", "b"), ("/b", "x")]


def test_a_key_holding_a_slash_or_tilde_is_escaped_in_the_pointer():
    assert named(refusal('{"a/b": {"~": {"k": 1, "k": 2}}}')) == [("/a~1b/~0", "k")]


@pytest.mark.parametrize("raw", [
    # A value that looks like a key: a quote, a colon, whitespace.
    REQUEST[:-1] + r', "summary": "he said \"requester\": \"x\" and \"a\" : 1"}',
    REQUEST[:-1] + ', "summary": "requester\\": {} , \\"customer\\" :"}',
    REQUEST[:-1] + ', "ticket_id": "\\":\\":\\":"}',
    '{"a": "\\\\", "b": "\\\\\\":"}',
    '{"a": {"b": "\\"a\\": 1"}, "c": ["\\"a\\":", "\\" :"]}',
    '{"": 1, " ": 2}',  # the empty key and a space are two keys
    '{"a": 1, "A": 2, "\\u00e9": 3, "e\\u0301": 4}',  # distinct keys, however alike
    '[{"a": 1}, {"a": 2}]',  # the same key in two objects
    '"\\":"', '["\\":", {"a": "\\":"}]',  # a quote and a colon, in a body that is no object
    '{"a": {"a": {"a": 1}}}',
])
def test_a_body_without_a_duplicate_key_is_read_as_written(raw):
    assert decode_json(raw) == json.loads(raw)
    assert decode_json(raw.encode()) == json.loads(raw)


def test_a_deep_body_with_a_duplicate_is_refused_by_the_limits_not_by_recursion():
    # The standard library's parser, which names the key, recurses: a body nested past the request limits
    # is refused for its depth before it is read again.
    raw = '{"a": ' * 900 + '{"k": 1, "k": 2}' + "}" * 900
    with pytest.raises(Exception) as caught:
        decode_json(raw)
    assert (caught.value.status, caught.value.slug) == (413, "limit-exceeded")


# ---- generated bodies ----------------------------------------------------------------------------

keys = st.text(st.characters(codec="utf-8") | st.sampled_from('":\\ /~\t'), max_size=6)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=False,
                    allow_infinity=False), st.text(st.characters(codec="utf-8") | st.sampled_from('":\\ '),
                                                   max_size=8))


class Obj(list):
    """An object's members as written, in order (so a test may write a key twice)."""


def unique(pairs):
    seen, kept = set(), Obj()
    for key, value in pairs:
        if key not in seen:
            seen.add(key)
            kept.append((key, value))
    return kept


trees = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.lists(st.tuples(keys, inner), max_size=5).map(unique)), max_leaves=20)
objects = st.lists(st.tuples(keys, trees), max_size=6).map(unique)
styles = st.tuples(st.booleans(), st.sampled_from(["", " ", "\n\t ", "\r\n"]), st.sampled_from(["", " ", "\n"]))


def escaped(key: str) -> str:
    """``key`` as a JSON string with every character written as a \\u escape."""
    units = key.encode("utf-16-be")
    return '"' + "".join(f"\\u{int.from_bytes(units[i:i + 2], 'big'):04x}" for i in range(0, len(units), 2)) + '"'


def write(value, style, spelling=None) -> str:
    """JSON text for a tree; ``spelling`` writes a given object key its own way."""
    ascii_only, before, after = style
    if isinstance(value, Obj):
        members = [((spelling or {}).get((id(value), i)) or json.dumps(k, ensure_ascii=ascii_only), v)
                   for i, (k, v) in enumerate(value)]
        return "{" + ",".join(f"{after}{k}{before}:{after}{write(v, style, spelling)}" for k, v in members) + "}"
    if isinstance(value, list):
        return "[" + f",{after}".join(write(v, style, spelling) for v in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


def plain(value):
    if isinstance(value, Obj):
        return {k: plain(v) for k, v in value}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def objects_in(value, path=()):
    """Every object of the tree, with the path of keys and indexes to it."""
    if isinstance(value, Obj):
        yield value, path
        for key, v in value:
            yield from objects_in(v, path + (key,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from objects_in(v, path + (i,))


def depth(value) -> int:
    """How many containers deep the tree is (a request may nest 8: request.LIMITS)."""
    if isinstance(value, list):
        return 1 + max((depth(v[1] if isinstance(value, Obj) else v) for v in value), default=0)
    return 0


def pointer(path) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


# Within the request limits (8 levels), which are checked before a body is read again to name the key.

@settings(max_examples=400, deadline=None)
@given(objects, styles)
def test_a_generated_body_without_duplicates_is_never_refused(body, style):
    assume(depth(body) <= 8)
    raw = write(body, style)
    assert decode_json(raw) == plain(body)
    assert decode_json(raw.encode()) == plain(body)


@settings(max_examples=400, deadline=None)
@given(objects.filter(lambda body: len(body) > 0), styles, st.data())
def test_a_generated_body_with_an_injected_duplicate_is_always_refused(body, style, data):
    holders = [(obj, path) for obj, path in objects_in(body) if obj]
    target, path = data.draw(st.sampled_from(holders))
    key, _ = data.draw(st.sampled_from(list(target)))
    value = data.draw(trees)
    at = data.draw(st.integers(0, len(target)))
    target.insert(at, (key, value))
    assume(depth(body) <= 8)
    spell = data.draw(st.booleans())
    raw = write(body, style, {(id(target), at): escaped(key)} if spell else None)
    with pytest.raises(MalformedRequest) as caught:
        decode_json(raw.encode())
    assert [(e.pointer, e.key) for e in caught.value.errors] == [(pointer(path), key)]


def test_impact_skips_a_replayed_line_that_names_a_key_twice():
    import io

    from supportpolicy.engine.tools.impact import read_requests

    lines = b'{"customer": "demo-city"}\n{"customer": "demo-city", "customer": "other"}\n'
    (first, second) = list(read_requests(io.BytesIO(lines)))
    assert first[1] == {"customer": "demo-city"} and first[2] is None
    assert second[1] is None and '"customer"' in second[2] and "more than once" in second[2]
