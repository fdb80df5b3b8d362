"""Read a firmware config file on the host, with messages that name the file, line and key.
The rules themselves live in the firmware (`ball.config`): one source of truth."""

import json

from ball import config
from knotball.runtime import UsageError


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
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError("{}: line {}: not valid JSON ({})".format(path, e.lineno, e.msg))
    try:
        return config.validate(data)
    except config.ConfigError as e:
        raise UsageError("{}: {}".format(path, e))
