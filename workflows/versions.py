"""Which version of the workflow's code a case runs (workflow.patched).

Each change of the commands a case sends is guarded by a patch, so a case started before it
replays as it ran. A case started since a milestone runs every earlier change too, so it
asks only the milestones, first thing in its run (`ask_first`), and records one marker
instead of one for each change. Asking a patch later, lazily, would be unsafe since our own
steps became local activities: on replay a local activity's result can come back in an
earlier workflow task than it did live, and a patch asked there is not yet known to the
replay, which then fails. `workflow.patched` remembers its first answer, so `since` asks the
milestones again for free.

A new change: give it a name here and put it first in MILESTONES; the code asks
`since(its name)`.
"""

from temporalio import workflow

# Our own short steps (the read model, terms, deadlines) are local activities, and search
# attributes are upserted only where they changed.
LOCAL_STEPS = "local-steps-attributes-changed"
# A run handing the case over to the next (continue-as-new) stops waiting for the day of a
# reminder instead of waiting for it: the next run sends it.
HANDOVER_STOPS_WAITS = "handover-stops-waits"

# A case runs one local step at a time (local_steps.LocalSteps).
ONE_STEP_AT_A_TIME = "one-local-step-at-a-time"

MILESTONES = (ONE_STEP_AT_A_TIME, HANDOVER_STOPS_WAITS, LOCAL_STEPS)  # newest first


def ask_first() -> None:
    """Record the newest milestone's marker (or learn which one an older case ran). Every
    run asks it before anything else (CameralAudit.__init__)."""
    for milestone in MILESTONES:
        if workflow.patched(milestone):
            return


def since(patch: str) -> bool:
    """Whether the case runs with the change `patch`."""
    for milestone in MILESTONES:
        if workflow.patched(milestone):
            return True
        if milestone == patch:
            return False
    return workflow.patched(patch)
