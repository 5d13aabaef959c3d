"""The data converter every client and worker shares: pydantic's, so dates and Decimals
round-trip, writing each model without the fields that hold their default value.

A case's state, snapshot and documents are mostly empty fields (no appeal yet, no review,
no requests); written out in full they made up about a third of a case's history. A field
left out is read back as its default, so the value is the same on both sides. A default
made by a factory is compared with a fresh value of the factory: an empty list is left
out, a generated identifier or timestamp is always written."""

from typing import Any

from pydantic_core import SchemaSerializer, core_schema
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)


class CompactJSONPayloadConverter(PydanticJSONPlainPayloadConverter):
    """pydantic's JSON converter, leaving out fields that equal their default."""

    _serializer = SchemaSerializer(core_schema.any_schema())

    def to_payload(self, value: Any) -> Payload | None:
        data = self._serializer.to_json(value, exclude_defaults=True)
        return Payload(metadata={"encoding": self.encoding.encode()}, data=data)


class CompactPayloadConverter(CompositePayloadConverter):
    """Temporal's default converters, with the compact JSON one in place of plain JSON."""

    def __init__(self) -> None:
        super().__init__(
            *(
                CompactJSONPayloadConverter() if isinstance(c, JSONPlainPayloadConverter) else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


data_converter = DataConverter(payload_converter_class=CompactPayloadConverter)
