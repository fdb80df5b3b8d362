# knotball firmware: the package that runs on the ball (and, unchanged, on the host).
VERSION = "0.1.0"
