"""The typed charge/refund keys and the shared id and money limits, without the stack."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from contracts.ids import ID_MAX_LENGTH, YEN_MAX, CustomerId, OrderId, Yen
from contracts.keys import ChargeKey, RefundKey


def test_a_charge_key_reads_back_as_the_billing_it_names() -> None:
    key = ChargeKey("P261126-ABCD", 2, 3)
    assert str(key) == "charge:P261126-ABCD:2:3"  # the ledger's existing keys keep working
    assert ChargeKey.parse(str(key)) == key


def test_a_refund_key_reads_back_as_the_order_and_its_number() -> None:
    key = RefundKey("P261126-ABCD", 4)
    assert str(key) == "refund:P261126-ABCD:4"
    assert RefundKey.parse(str(key)) == key


def test_an_order_id_with_colons_still_round_trips() -> None:
    assert ChargeKey.parse("charge:a:b:1:2") == ChargeKey("a:b", 1, 2)
    assert RefundKey.parse("refund:a:b:7") == RefundKey("a:b", 7)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "charge:",
        "charge:P1",
        "charge:P1:1",
        "charge::1:1",
        "charge:P1:x:1",
        "charge:P1:1:0",
        "charge:P1:-1:1",
        "refund:P1:1:1",
        "charge:P1:01:1",
        "charge:P1:\uff11:1",  # a full-width digit
    ],
)
def test_what_is_not_a_charge_key_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        ChargeKey.parse(text)


@pytest.mark.parametrize("text", ["", "refund:", "refund:P1", "refund::1", "refund:P1:0", "charge:P1:1:1"])
def test_what_is_not_a_refund_key_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        RefundKey.parse(text)


class _Keyed(BaseModel):
    key: ChargeKey


def test_a_key_field_is_text_on_the_wire_and_a_typed_value_in_python() -> None:
    keyed = _Keyed.model_validate_json('{"key": "charge:P1:1:2"}')
    assert keyed.key == ChargeKey("P1", 1, 2)
    assert keyed.model_dump(mode="json") == {"key": "charge:P1:1:2"}
    assert _Keyed(key=ChargeKey("P1", 1, 2)).model_dump_json() == '{"key":"charge:P1:1:2"}'
    with pytest.raises(ValidationError):
        _Keyed.model_validate({"key": "refund:P1:1"})
    assert _Keyed.model_json_schema()["properties"]["key"]["type"] == "string"


ORDER_ID: TypeAdapter[str] = TypeAdapter(OrderId)
CUSTOMER_ID: TypeAdapter[str] = TypeAdapter(CustomerId)
YEN: TypeAdapter[int] = TypeAdapter(Yen)


@pytest.mark.parametrize("value", ["", "a\x00b", "tab\there", "line\nbreak", "\x7f", "x" * (ID_MAX_LENGTH + 1), 12])
def test_ids_refuse_nul_control_characters_emptiness_length_and_non_text(value: Any) -> None:
    for adapter in (ORDER_ID, CUSTOMER_ID):
        with pytest.raises(ValidationError):
            adapter.validate_python(value)


def test_ids_up_to_the_limit_are_taken_as_they_are() -> None:
    assert ORDER_ID.validate_python("x" * ID_MAX_LENGTH) == "x" * ID_MAX_LENGTH
    assert CUSTOMER_ID.validate_python("cust-山田") == "cust-山田"


@pytest.mark.parametrize("value", [-1, YEN_MAX + 1, 12.5, "100", True, None])
def test_yen_is_a_whole_non_negative_json_safe_number(value: Any) -> None:
    with pytest.raises(ValidationError):
        YEN.validate_python(value)
    assert YEN.validate_python(0) == 0 and YEN.validate_python(YEN_MAX) == YEN_MAX
