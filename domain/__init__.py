"""Pure rules of the cameral customs audit: no I/O, safe inside the Temporal sandbox."""
