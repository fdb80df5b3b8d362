# Runs first on every reset: the motor pin is driven low before anything else can fail.
try:
    try:
        import vboard as board  # type: ignore[import-not-found]  # a virtual ball's layer
    except ImportError:
        from ball import board

    board.outputs_off()
except Exception as e:  # never let boot stop the REPL from coming up
    print("knotball boot:", e)
