"""Local stand-ins for the outside world in the embedded default: an SMTP server that keeps
every message, and an SMS gateway that keeps every text. Both speak the real protocols, so
the product's e-mail and SMS code runs unchanged against them."""
