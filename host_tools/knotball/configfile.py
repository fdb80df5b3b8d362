"""Read a firmware config file on the host, with messages that name the file, line and key.
The rules themselves live in the firmware (`ball.config`): one source of truth."""

import difflib
import json

from ball import config
from knotball.runtime import UsageError


def unknown_key(key):
    """The message for a key the config does not have: the closest known key first."""
    close = difflib.get_close_matches(key, config.DEFAULTS, n=1, cutoff=0.6)
    hint = "did you mean {}? ".format(close[0]) if close else ""
    return "{}: unknown key; {}(known keys: {})".format(
        key, hint, ", ".join(sorted(config.DEFAULTS))
    )


def _no_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise UsageError("{}: given twice; give each key once".format(key))
        seen[key] = value
    return seen


def load(path):
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as e:
        raise UsageError("{}: cannot read the config file ({})".format(path, e.strerror))
    except UnicodeDecodeError:
        raise UsageError("{}: not a text file; a config is JSON".format(path))
    if not text.strip():
        raise UsageError("{}: the config file is empty; it must be a JSON object".format(path))
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as e:
        raise UsageError("{}: line {}: not valid JSON ({})".format(path, e.lineno, e.msg))
    except UsageError as e:
        raise UsageError("{}: {}".format(path, e))
    try:
        return config.validate(data)
    except config.ConfigError as e:
        if e.key is not None and e.key not in config.DEFAULTS:
            raise UsageError("{}: {}".format(path, unknown_key(e.key)))
        raise UsageError("{}: {}".format(path, e))
