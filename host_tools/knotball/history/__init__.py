"""The session history on this computer: the SQLite store, reading log files into it, what
it says against the guidance, and the pictures of a session."""
