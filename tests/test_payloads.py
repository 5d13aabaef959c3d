"""The shared data converter writes models without their defaults and reads them back equal."""

from datetime import date
from decimal import Decimal as D

from domain.case_state import initial_state
from domain.case_view import summary
from domain.charges import Charges
from tests.factories import audit_start
from workflows.payloads import data_converter

CONVERTER = data_converter.payload_converter


def test_a_new_case_is_written_without_its_empty_fields_and_read_back_the_same() -> None:
    state = initial_state(audit_start(), date(2026, 3, 2))
    [payload] = CONVERTER.to_payloads([state])
    assert b'"appeal"' not in payload.data and b"null" not in payload.data
    assert b'"issued_on":"2026-03-02"' in payload.data
    [back] = CONVERTER.from_payloads([payload], [type(state)])
    assert back == state
    shown = summary(state)
    [again] = CONVERTER.from_payloads(CONVERTER.to_payloads([shown]), [type(shown)])
    assert again == shown


def test_values_other_than_models_are_plain_json() -> None:
    values = [{"a": None, "b": [1, 2]}, "text", 3, None, date(2026, 3, 2)]
    payloads = CONVERTER.to_payloads(values)
    assert payloads[0].data == b'{"a":null,"b":[1,2]}'
    back = CONVERTER.from_payloads(payloads, [dict, str, int, type(None), date])
    assert back == values


def test_a_charge_reads_the_same_however_given_and_after_it_was_left_out() -> None:
    given = Charges(customs_duty=D("10"), customs_fee=D("0.00"), excise=D("0"))
    [payload] = CONVERTER.to_payloads([given])
    assert b"customs_fee" not in payload.data and b"excise" not in payload.data
    [back] = CONVERTER.from_payloads([payload], [Charges])
    shown = back.model_dump(mode="json")
    assert shown["customs_duty"] == "10.00"
    assert shown["customs_fee"] == shown["excise"] == shown["penalty"] == "0.00"
