# The wire: every byte layout and name table shared by the ball (which writes) and the host
# (which reads), in one place. names: what each number on the wire means. framing: the "KB"
# frame around every log record and console frame, and the scanners that find frames.
# records: the session log's records. console: the USB console's frames. logfile: the rules
# for reading a whole log file. Each layout is a pack_into(buf, off, ...) for the ball
# (in place, allocation-free) beside its unpack(...) for the reader.
