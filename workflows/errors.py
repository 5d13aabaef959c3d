"""Error types the workflow's validators raise; the API maps them to HTTP statuses."""

WRONG_STATE = "WrongState"  # a rule about the case's state or time: 409
INVALID_INPUT = "InvalidInput"  # the input contradicts the case: 422
