# The virtual ball's "ROM": what a real board's MicroPython does around boot.py and main.py,
# on the unix port (`knotball virtual` runs it; it is not firmware). It mounts a littlefs2
# image file as the root filesystem, then runs the boot sequence of an ESP32 port (boot.py,
# main.py in the friendly mode, the REPL) and the REPL protocol stock mpremote speaks: the
# friendly and raw REPLs, Ctrl-D soft reset. The unix port's own REPL has no raw mode.
# It talks as a board's REPL does on its UART, so other tools (rshell, ampy) work too:
# - Ctrl-C interrupts only the code the REPL runs (pyexec sets the interrupt character just
#   around it); at a prompt it is a byte in the stream that clears the line, in its place
#   among the bytes around it (an interrupt there would overtake them).
# - print() and the REPL's own text end lines with "\r\n"; sys.stdout.buffer stays raw (the
#   console's binary frames pass unchanged). sys.stdout.write() is not cooked: the unix
#   port does not let sys.stdout be replaced.
# Run: micropython rom.py VBALL_DIR IMAGE BLOCKS TRACE|- SPEED PRESS|- KEYS|- HTTP_PORT|- ISIG
# (PRESS: a press script, press.py; KEYS: the file the host writes the arrow keys' force to;
# HTTP_PORT: the live page's port on 127.0.0.1, if served; ISIG: termios.ISIG's value)
# stdin/stdout are the ball's pty, raw; ISIG (0x03 raises SIGINT) only while code runs.
import builtins
import gc
import io
import os
import sys
import termios

_BLOCK = 4096
_ID_MAGIC = b"KBID"
_BANNER = '{}; virtual knotball ({})\r\nType "help()" for more information.\r\n'
_RAW = b"raw REPL; CTRL-B to exit\r\n"


HardReset = None  # machine.HardReset, once the virtual machine module is loaded
_print = builtins.print  # the unix port's: "\n" goes out as it is


def _cooked(text):
    """What a board's UART sends for text printed: "\n" as "\r\n"."""
    sys.stdout.buffer.write(text.replace("\n", "\r\n").encode())


def _board_print(*args, **kw):
    """print() as on a board (MicroPython's print takes sep, end and file)."""
    out = kw.pop("file", None)
    if out is not None and out is not sys.stdout:
        return _print(*args, file=out, **kw)
    buf = io.StringIO()
    _print(*args, file=buf, **kw)
    _cooked(buf.getvalue())


def _board_repl_print(value):
    """What the friendly REPL shows for an expression, cooked; `_` is the last one."""
    if value is not None:
        _board_print(repr(value))
        builtins._ = value


class FileFlash:
    """A littlefs block device over an image file. Every write goes straight to the file,
    so killing the virtual ball is a power cut, which littlefs is made to survive."""

    def __init__(self, path, blocks):
        try:
            self.f = open(path, "r+b")
        except OSError:
            self.f = open(path, "w+b")
            erased = b"\xff" * _BLOCK
            for _ in range(blocks):
                self.f.write(erased)
            self.f.flush()
        self.blocks = self.f.seek(0, 2) // _BLOCK

    def ball_id(self):
        """The image's id, kept after its last block: outside the filesystem, like a chip's
        unique id, so a reformat keeps it and a copy of the image is the same ball."""
        self.f.seek(self.blocks * _BLOCK)
        tail = self.f.read(12)
        if len(tail) == 12 and tail[:4] == _ID_MAGIC:
            uid = tail[4:]
        else:
            uid = os.urandom(8)
            self.f.seek(self.blocks * _BLOCK)
            self.f.write(_ID_MAGIC + uid)
            self.f.flush()
        return "vb" + "".join("{:02x}".format(b) for b in uid)

    def readblocks(self, n, buf, off=0):
        self.f.seek(n * _BLOCK + off)
        self.f.readinto(buf)

    def writeblocks(self, n, buf, off=0):
        self.f.seek(n * _BLOCK + off)
        self.f.write(buf)
        self.f.flush()

    def ioctl(self, op, arg):
        if op == 4:
            return self.blocks
        if op == 5:
            return _BLOCK
        if op in (1, 2, 3, 6):  # init, deinit, sync, erase (littlefs erases by rewriting)
            return 0
        return None


def mount_root(image, blocks):
    """Mount the image as /; returns its block device."""
    bdev = FileFlash(image, blocks)
    try:
        vfs = os.VfsLfs2(bdev)
    except OSError:  # a new or unreadable image: format it, as a fresh board does
        os.VfsLfs2.mkfs(bdev)
        vfs = os.VfsLfs2(bdev)
    os.umount("/")  # the host's filesystem: the ball must not see (or delete) it
    os.mount(vfs, "/")
    os.chdir("/")
    return bdev


class Repl:
    def __init__(self, vboard, isig):
        self.vboard = vboard
        self.inp = sys.stdin.buffer
        self.out = sys.stdout.buffer
        self.raw = False
        self.modules = set(sys.modules)
        self.ns = {}
        self.tty = termios.tcgetattr(0)
        self.isig = isig
        self.lflag = self.tty[3] & ~isig
        self.interrupts(False)

    def interrupts(self, on):
        """Ctrl-C raises KeyboardInterrupt (on) or is a byte read at the prompt (off)."""
        self.tty[3] = (self.lflag | self.isig) if on else self.lflag
        while True:
            try:
                termios.tcsetattr(0, termios.TCSANOW, self.tty)
                for _ in (0, 1):
                    pass  # a pending Ctrl-C is raised here, at a jump
                return
            except KeyboardInterrupt:
                if on:
                    raise  # the code about to run is interrupted at once
                # Sent as the code ended, too late for it: gone (pyexec drops it too).

    def write(self, s):
        self.out.write(s if isinstance(s, bytes) else s.encode())

    def getc(self):
        b = self.inp.read(1)
        if not b:
            raise SystemExit(0)  # the pty is gone: the virtual ball was switched off
        if b[0] == 3:
            raise KeyboardInterrupt  # Ctrl-C at a prompt: the REPLs clear the line
        return b[0]

    def print_exception(self, e):
        """As pyexec prints it: the code's frames, not the ROM's (nor its path on the host)."""
        buf = io.StringIO()
        sys.print_exception(e, buf)
        _cooked("\n".join(line for line in buf.getvalue().split("\n") if __file__ not in line))

    def call(self, code):
        """Run compiled code in the REPL's globals, Ctrl-C interrupting it; the exception it
        ended with (SystemExit for a soft reset), or None."""
        try:
            self.interrupts(True)
            exec(code, self.ns)
        except HardReset:
            raise
        except BaseException as e:  # KeyboardInterrupt included, as pyexec reports it
            return e
        finally:
            self.interrupts(False)
        return None

    def reset_state(self):
        """What a soft reset clears: modules imported since the ROM, globals, cwd, heap."""
        for name in list(sys.modules):
            if name not in self.modules:
                del sys.modules[name]
        sys.path[:] = ["", "/lib"]
        self.ns = {"__name__": "__main__"}
        self.vboard.last = None  # the app's board goes with the app
        os.chdir("/")
        gc.collect()

    def run_file(self, name):
        try:
            with open(name) as f:
                src = f.read()
        except OSError:
            return
        self.execute(src, name, "exec")

    def execute(self, src, name, mode):
        """Run code in the REPL's globals, printing how it failed; True when it asked for a
        soft reset."""
        try:
            code = compile(src, name, mode)
        except Exception as e:  # SyntaxError, MemoryError
            self.print_exception(e)
            return False
        e = self.call(code)
        if isinstance(e, SystemExit):
            return True
        if e is not None:
            self.print_exception(e)
        return False

    def boot(self, friendly):
        self.reset_state()
        self.run_file("boot.py")
        if friendly:
            self.run_file("main.py")

    def run(self):
        friendly = True
        while True:
            try:
                self.boot(friendly)
                while not self.repl():
                    pass
            except HardReset:
                self.raw = False
                friendly = True
                continue
            friendly = not self.raw
            self.write("MPY: soft reboot\r\n")

    def repl(self):
        """One turn of the current REPL: True for a soft reset."""
        try:
            return self.raw_repl() if self.raw else self.friendly_repl()
        except KeyboardInterrupt:  # between prompts: start the prompt again
            self.write("\r\n")
            return False

    def raw_repl(self):
        """pyexec_raw_repl: returns True for a soft reset, False to switch mode."""
        self.write(_RAW)
        while True:
            self.write(">")
            line = bytearray()
            while True:
                try:
                    c = self.getc()
                except KeyboardInterrupt:
                    line = bytearray()  # Ctrl-C clears the line
                    continue
                if c == 1:
                    if len(line) == 2 and line[0] == 5:
                        self.write(b"R\x00")  # raw-paste refused: mpremote uses plain raw
                        line = bytearray()
                        continue
                    self.write(_RAW)
                    line = bytearray()
                    self.write(">")
                elif c == 2:
                    self.write("\r\n")
                    self.raw = False
                    return False
                elif c == 4:
                    break
                else:
                    line.append(c)
            self.write("OK")
            if not line:
                self.write("\r\n")
                return True
            try:
                code = compile(bytes(line).decode(), "<stdin>", "exec")
            except Exception as e:  # SyntaxError, UnicodeError, MemoryError
                self.write(b"\x04")
                self.print_exception(e)
                self.write(b"\x04")
                continue
            e = self.call(code)
            self.write(b"\x04")
            if e is not None and not isinstance(e, SystemExit):
                self.print_exception(e)
            self.write(b"\x04")
            if isinstance(e, SystemExit):
                return True

    def friendly_repl(self):
        """pyexec_friendly_repl, minus line history and paste mode."""
        self.write(_BANNER.format(sys.version.split("; ")[-1], sys.implementation._machine))
        while True:
            src = ""
            prompt = ">>> "
            while True:
                self.write(prompt)
                try:
                    line, key = self.read_line()
                except KeyboardInterrupt:
                    self.write("\r\n")
                    src = ""
                    prompt = ">>> "
                    continue
                if key == 1:
                    self.write("\r\n")
                    self.raw = True
                    return False
                if key == 2:
                    self.write("\r\n")
                    return False
                if key == 4:
                    self.write("\r\n")
                    return True
                src += line + "\n"
                if not line.strip() or (prompt == ">>> " and not line.rstrip().endswith(":")):
                    break
                prompt = "... "
            if src.strip():
                if self.execute(src, "<stdin>", "single"):
                    return True

    def read_line(self):
        """One line with echo and backspace; (line, 0) or ("", control key 1/2/4)."""
        line = bytearray()
        while True:
            c = self.getc()
            if c in (1, 2) or (c == 4 and not line):
                return "", c
            if c in (13, 10):
                self.write("\r\n")
                return bytes(line).decode(), 0
            if c in (8, 127):
                if line:
                    line.pop()
                    self.write(b"\x08 \x08")
            elif c >= 32:
                line.append(c)
                self.out.write(bytes((c,)))


def main(argv):
    global HardReset
    vball_dir, image, blocks, trace, speed, press, keys, http, isig = argv
    http_port = None if http == "-" else int(http)
    sys.path.insert(0, vball_dir)
    import machine  # the virtual machine module: loaded now, kept through soft resets
    import press as press_script
    import vboard

    HardReset = machine.HardReset

    sys.path.pop(0)
    # Opened and read while the host's files are still visible (the image hides them).
    trace_file = None if trace == "-" else open(trace)
    hand = None
    if press != "-":
        with open(press) as f:
            hand = press_script.Press(*press_script.parse(f, press))
    keys_file = None if keys == "-" else open(keys)
    # The tests' record of the motor's starts and the page's sends, in board time.
    io_path = os.getenv("KNOTBALL_VBALL_IO_LOG")
    io_log = open(io_path, "w") if io_path else None
    bdev = mount_root(image, int(blocks))
    vboard.configure(trace_file, float(speed), bdev.ball_id(), hand, keys_file, http_port, io_log)
    builtins.print = _board_print
    builtins.__repl_print__ = _board_repl_print
    sys.stderr.write("vball: ready\n")
    Repl(vboard, int(isig)).run()


main(sys.argv[1:])
