# The ball's entry point, thin on purpose: the board layer, then ball/start.py. On the ESP32
# the board layer is ball/board.py; a virtual ball's ROM puts its own (vboard) on the path.
try:
    import vboard as board  # type: ignore[import-not-found]
except ImportError:
    from ball import board

from ball.start import main

main(board)
