"""How every process connects to Temporal: client and worker must share the data converter
(pydantic's, so dates and Decimals round-trip)."""

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter


async def connect(address: str, namespace: str) -> Client:
    return await Client.connect(
        address, namespace=namespace, data_converter=pydantic_data_converter
    )
