"""How a session ended, in the words every command uses (pull, import, history, report and
its plot, inspect, sim): one phrase per stop reason of ball.wire.STOP_REASONS (a test
checks that each has its words), shown as "stopped: PHRASE" in a sentence and as the phrase
alone under a "stopped" column."""

STOP_TEXT = {
    "time_limit": "time limit",
    "idle": "no contact",
    "aborted": "the ball's app was stopped",
    "interrupted": "interrupted (power cut)",
    "sensor_fault": "sensor fault",
    "symptom": "numbness or tingling",
    "low_battery": "the battery's cut-off (charge it)",
}


def phrase(reason):
    """The words for one stop reason ("time limit"); an unknown one as it came."""
    return STOP_TEXT.get(reason, reason.replace("_", " "))


def stopped(reason):
    """ "stopped: time limit" """
    return "stopped: " + phrase(reason)
