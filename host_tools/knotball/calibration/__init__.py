"""Calibrating a ball: the guided procedures (guide.py), the ball in calibration mode and
the person answering (flow.py), and the fits (fit.py)."""
