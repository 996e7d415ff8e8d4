"""``python -m contracts.publish``: write ``docs/events/`` from the models, or ``--check`` that it is up to date.

Generated, committed and checked for drift (``tests/contracts/test_published.py``):

- ``<type>.schema.json``: the JSON Schema of one event's or command's ``data``;
- ``asyncapi.yaml``: an AsyncAPI 3.0.0 document of the four topics: channels,
  messages (the structured CloudEvents body with its ``data`` schema, the
  binary-mode headers, the Kafka key), and what each service sends and receives;
- ``README.md``: the catalogue, one line per type in the agency's words.

Only this tool needs PyYAML (a dependency of the project); the models need pydantic alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from contracts.base import Contract
from contracts.ids import ID_MAX_LENGTH
from contracts.topics import TOPICS, Topic

OUT = Path(__file__).resolve().parents[1] / "docs" / "events"
REGENERATE = "python -m contracts.publish"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

CE_HEADERS = {
    "ce_specversion": ("CloudEvents version: 1.0.", {"const": "1.0"}),
    "ce_id": ("The event id (de-duplicate on it); the body's id.", {}),
    "ce_type": ("The event type, e.g. order.paid; the body's type.", {}),
    "ce_source": ("daiko/<producing service>; the body's source.", {"pattern": "^daiko/[a-z]+$"}),
    "ce_time": ("When it happened (RFC 3339); the body's time.", {"format": "date-time"}),
    "ce_subject": ("The Kafka key: the order id or the customer id; the body's subject.", {}),
    "content-type": (
        "application/cloudevents+json; charset=UTF-8: the body is the whole structured event.",
        {"const": "application/cloudevents+json; charset=UTF-8"},
    ),
}


def _channel_id(topic: Topic) -> str:
    return topic.name.removeprefix("daiko.").removesuffix(".v1")


def data_schema(model: type[Contract]) -> dict[str, Any]:
    """One type's ``data`` as a standalone JSON Schema file."""
    schema = model.model_json_schema()
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"{model.type}.schema.json",
        "title": f"{model.type} (data, version {model.version})",
        "description": model.summary,
        "x-daiko-type": model.type,
        "x-daiko-version": model.version,
        **{key: value for key, value in schema.items() if key not in ("title", "description")},
    }


def _envelope_schema(topic: Topic, model: type[Contract]) -> dict[str, Any]:
    """The Kafka message body: the structured CloudEvent whose ``data`` is this type's model."""
    return {
        "type": "object",
        "required": ["specversion", "id", "type", "source", "time", "subject", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "maxLength": 64, "description": "Consumers de-duplicate on it."},
            "type": {"const": model.type},
            "source": {"const": topic.source},
            "time": {"type": "string", "format": "date-time"},
            "subject": {"type": "string", "maxLength": ID_MAX_LENGTH, "description": f"The {topic.key}."},
            "datacontenttype": {"const": "application/json"},
            "data": {"$ref": f"#/components/schemas/{model.__name__}"},
        },
    }


def asyncapi() -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of every topic."""
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in TOPICS:
        channel = _channel_id(topic)
        channels[channel] = {
            "address": topic.name,
            "title": topic.name,
            "description": f"{topic.summary} Key: {topic.key}. Produced by {topic.producer}.",
            "messages": {m.type: {"$ref": f"#/components/messages/{m.type}"} for m in topic.messages},
        }
        for model in topic.messages:
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
            messages[model.type] = {
                "name": model.type,
                "title": model.type,
                "summary": model.summary,
                "contentType": "application/cloudevents+json",
                "headers": {"$ref": "#/components/schemas/CloudEventsHeaders"},
                "payload": _envelope_schema(topic, model),
                "bindings": {"kafka": {"key": {"type": "string", "description": f"The {topic.key}."}}},
                "x-daiko-version": model.version,
            }
        refs = [{"$ref": f"#/channels/{channel}/messages/{m.type}"} for m in topic.messages]
        operations[f"{topic.producer}.send.{channel}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": f"{topic.producer} publishes through its outbox.",
            "messages": [dict(ref) for ref in refs],
        }
        for consumer in topic.consumers:
            operations[f"{consumer}.receive.{channel}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": f"{consumer} applies each event once; what breaks the contract is dead-lettered.",
                "messages": [dict(ref) for ref in refs],
            }
    schemas["CloudEventsHeaders"] = {
        "type": "object",
        "description": "CloudEvents Kafka binding, binary-mode attributes, sent next to the structured body.",
        "required": list(CE_HEADERS),
        "properties": {
            name: {"type": "string", "description": description, **extra}
            for name, (description, extra) in CE_HEADERS.items()
        },
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Daiko events",
            "version": "1.0.0",
            "description": (
                "Every Kafka topic of Daiko, generated from the `contracts` package "
                f"(`{REGENERATE}`). Bodies are CloudEvents 1.0 JSON; each message also carries the binary-mode "
                "`ce_*` headers. Per-key order is the only order a topic promises."
            ),
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {
            "local": {"host": "127.0.0.1:9092", "protocol": "kafka", "description": "`make up` on one machine"}
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": dict(sorted(schemas.items())), "messages": messages},
    }


def catalogue() -> str:
    """``docs/events/README.md``: each topic and what each of its types means."""
    lines = [
        "# Event catalogue",
        "",
        f"Generated from `contracts/` by `{REGENERATE}`; do not edit by hand.",
        "Every body is a CloudEvents 1.0 JSON envelope (`id`, `type`, `source`, `time`, `subject`, `data`) and",
        "every message carries the same attributes as `ce_*` headers. `data` of each type is described by",
        "`<type>.schema.json`; `asyncapi.yaml` describes all four topics.",
        f"Ids are at most {ID_MAX_LENGTH} characters without control characters; money is whole yen.",
        "",
        "Daiko's consumers read every event with its contract: an unknown type or data the contract refuses is",
        "parked in the consumer's `dead_letters` table with the reason. A type's `version` changes when a field",
        "becomes required or changes meaning; adding an optional field keeps it. Our consumers refuse fields they",
        "do not know, so a producer sends a new field only once every consumer has the contract that names it.",
        "",
    ]
    for topic in TOPICS:
        consumers = ", ".join(topic.consumers) or "none inside Daiko (for other systems)"
        lines += [
            f"## `{topic.name}`",
            "",
            topic.summary,
            "",
            f"- key and subject: `{topic.key}`",
            f"- producer: {topic.producer} (source `{topic.source}`)",
            f"- consumers: {consumers}",
            "",
            "| type | version | what it means |",
            "| --- | --- | --- |",
        ]
        lines += [f"| [`{m.type}`]({m.type}.schema.json) | {m.version} | {m.summary} |" for m in topic.messages]
        lines.append("")
    return "\n".join(lines)


def render() -> dict[str, str]:
    """Every file of ``docs/events/`` by name, as it should be committed."""
    import yaml

    files = {
        f"{model.type}.schema.json": json.dumps(data_schema(model), indent=2, ensure_ascii=False) + "\n"
        for topic in TOPICS
        for model in topic.messages
    }
    files["asyncapi.yaml"] = f"# Generated from contracts/ by `{REGENERATE}`; do not edit by hand.\n" + yaml.safe_dump(
        asyncapi(), sort_keys=False, allow_unicode=True, width=120
    )
    files["README.md"] = catalogue()
    return files


def drift(out: Path = OUT) -> list[str]:
    """Names of the files that differ from what the models generate (missing, changed or left over)."""
    expected = render()
    present = {p.name for p in out.glob("*")} if out.is_dir() else set()
    changed = [
        name for name, text in expected.items() if not (out / name).is_file() or (out / name).read_text() != text
    ]
    return sorted(changed + [name for name in present - set(expected)])


def write(out: Path = OUT) -> None:
    out.mkdir(parents=True, exist_ok=True)
    expected = render()
    for stale in {p.name for p in out.glob("*")} - set(expected):
        (out / stale).unlink()
    for name, text in expected.items():
        (out / name).write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=REGENERATE, description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/events/ differs from the models")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.check:
        differing = drift(args.out)
        if differing:
            print(f"docs/events is out of date ({', '.join(differing)}); run `{REGENERATE}`", file=sys.stderr)
            return 1
        return 0
    write(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
