# Runs first on every reset: the motor pin is driven low before anything else can fail.
try:
    from ball import board

    board.outputs_off()
except Exception as e:  # never let boot stop the REPL from coming up
    print("knotball boot:", e)
