"""Who a recorded decision (a release from quarantine, a publication) is attributed to."""

import getpass
import os

# Names the person behind a decision where the login does not (a shared service account).
ACTOR_ENV = "CORPUSGOV_USER"


def acting_person() -> str:
    """$CORPUSGOV_USER, else the login name, else "unknown"."""
    named = os.environ.get(ACTOR_ENV)
    if named:
        return named
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
