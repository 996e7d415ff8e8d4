"""``docs/events/`` is what the models generate, and the AsyncAPI document holds together."""

from __future__ import annotations

from typing import Any

import yaml

from contracts.publish import OUT, REGENERATE, asyncapi, drift, render
from contracts.topics import TOPICS


def test_the_committed_event_docs_are_what_the_contracts_generate() -> None:
    differing = drift(OUT)
    assert not differing, f"docs/events/ is out of date ({', '.join(differing)}): run `{REGENERATE}` and commit"


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def test_every_reference_of_the_asyncapi_document_resolves_inside_it() -> None:
    text = render()["asyncapi.yaml"]
    assert "&id" not in text  # plain YAML, no anchors, for every AsyncAPI tool
    document = yaml.safe_load(text)
    assert document == asyncapi()
    assert document["asyncapi"] == "3.0.0"
    for ref in _refs(document):
        assert _resolve(document, ref) is not None


def test_the_asyncapi_document_has_every_topic_type_and_who_sends_and_receives_it() -> None:
    document = asyncapi()
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {topic.name for topic in TOPICS}
    assert set(document["components"]["messages"]) == {m.type for topic in TOPICS for m in topic.messages}
    actions = {(name.split(".")[0], op["action"], op["channel"]["$ref"]) for name, op in document["operations"].items()}
    assert ("orders", "send", "#/channels/orders.events") in actions
    assert ("messaging", "receive", "#/channels/orders.events") in actions
    assert ("deposits", "receive", "#/channels/deposits.commands") in actions
    assert ("orders", "receive", "#/channels/deposits.events") in actions
    assert ("messaging", "send", "#/channels/messaging.events") in actions
    headers = document["components"]["schemas"]["CloudEventsHeaders"]["properties"]
    assert {"ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time", "ce_subject", "content-type"} <= set(headers)


def test_the_catalogue_lists_every_type_of_every_topic() -> None:
    catalogue = render()["README.md"]
    for topic in TOPICS:
        assert f"## `{topic.name}`" in catalogue
        for model in topic.messages:
            assert f"[`{model.type}`]({model.type}.schema.json)" in catalogue
