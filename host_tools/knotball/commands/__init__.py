"""The `knotball` subcommands, one module each, registered in knotball.cli.COMMANDS. Each
has add_arguments(parser) and run(args) -> exit status: it parses, calls the libraries
(transport, history, virtual, calibration) and prints."""
