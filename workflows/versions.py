"""Which version of the workflow's code a case runs (workflow.patched).

Each change of the commands a case sends is guarded by a patch, so a case started before it
replays as it ran. A case started since LATEST runs every earlier change too, so it asks only
LATEST, first thing in its run, and records one marker instead of one for each change.
Asking an older patch later, lazily, would also be unsafe since our own steps became local
activities: on replay a local activity's result can come back in an earlier workflow task
than it did live, and a patch asked there is not yet known to the replay, which then fails.

A new change: give it a name here, make it LATEST, and ask `since(...)` for the one it
replaces as the newest; cases started since it ask only it.
"""

from temporalio import workflow

# Our own short steps (the read model, terms, deadlines) are local activities, and search
# attributes are upserted only where they changed.
LATEST = "local-steps-attributes-changed"


def latest() -> bool:
    """Whether the case runs the current code. The first ask records the marker, so every
    run asks it before anything else (CameralAudit.__init__ and run)."""
    return workflow.patched(LATEST)


def since(patch: str) -> bool:
    """Whether the case runs with the change `patch` (one older than LATEST)."""
    return latest() or workflow.patched(patch)
