"""Error types the workflow's validators raise; the API maps them to HTTP statuses."""

WRONG_STATE = "WrongState"  # a rule about the case's state or time: 409
INVALID_INPUT = "InvalidInput"  # the input contradicts the case: 422
FORBIDDEN = "Forbidden"  # the caller's role may not do this in the case's state: 403
EXPIRED = "Expired"  # the caller gave up on this request before a worker took it: 503
HANDING_OVER = "HandingOver"  # the case is moving to its next run: sent again, then 503
