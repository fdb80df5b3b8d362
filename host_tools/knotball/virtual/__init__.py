"""A ball without hardware: the MicroPython unix port running the ROM in vball/ (package
data, run by MicroPython, not imported here) on a pty (pty_ball.py)."""
