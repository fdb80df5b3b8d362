"""Calibrating a ball: the fits (fit.py), the ball in calibration mode and the person
answering (flow.py)."""
