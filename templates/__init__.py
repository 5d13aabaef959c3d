"""Jinja2 templates of the notices and alerts, shipped as package data beside the code."""
