# knotball firmware: the package that runs on the ball (and, unchanged, on the host).
VERSION = "0.1.0"

# `X = const(n)` in every firmware module: MicroPython's compiler folds it into the code (and
# an _X name costs no RAM); on CPython it is the plain number. The one stand-in is here.
try:
    from micropython import const
except ImportError:

    def const(x):  # type: ignore[misc]  # CPython stand-in: mypy wants the stub's signature
        return x
