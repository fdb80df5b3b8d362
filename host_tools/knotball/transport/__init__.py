"""The host's way to a ball over USB (or the virtual ball's pty): which port, the knotball
console (link.py), and MicroPython's raw REPL for deploying files (repl.py)."""
