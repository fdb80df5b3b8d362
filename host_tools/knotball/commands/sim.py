"""knotball sim: replay a pressure trace through the real firmware loop (contract 3)."""

import json
import subprocess
import sys
from pathlib import Path

from knotball import configfile, timeline
from knotball.runtime import RUNTIMES, UsageError, command


def add_arguments(p):
    p.add_argument("trace", metavar="TRACE.csv", help="pressure trace: header t_ms,force_n")
    p.add_argument("--config", metavar="FILE.json", help="firmware config (default: defaults)")
    p.add_argument(
        "--runtime",
        choices=RUNTIMES,
        default="micropython",
        help="where the firmware runs (default: the MicroPython unix port)",
    )
    p.add_argument(
        "--heap-kb",
        type=int,
        metavar="N",
        help="MicroPython GC heap in KiB (the ESP32 has about 64 at boot)",
    )
    p.add_argument("--json", action="store_true", help="one JSON event per line")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="write the session log files here, exactly as the ball stores them",
    )


def events(trace, config_path=None, runtime="micropython", heap_kb=None, out_dir=None):
    """Run the firmware on the trace and yield its events as dicts, as they happen."""
    if heap_kb is not None and runtime != "micropython":
        raise UsageError("--heap-kb applies to --runtime micropython only")
    if heap_kb is not None and not 8 <= heap_kb <= 1 << 20:
        raise UsageError("--heap-kb {} is out of range: use 8 KiB or more".format(heap_kb))
    args = [trace] + (["--config", config_path] if config_path else [])
    if out_dir:
        args += ["--out", out_dir]
    argv, env = command("ball.sim", args, runtime, heap_kb)
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        for line in proc.stdout:
            yield json.loads(line)
    finally:
        proc.stdout.close()
        err = proc.stderr.read()
        proc.stderr.close()
        rc = proc.wait()
    if rc == 2:
        raise UsageError(err.strip().splitlines()[-1] if err.strip() else "bad input")
    if rc != 0:
        if "MemoryError" in err:
            raise RuntimeError(
                "the firmware ran out of memory in a {} KiB heap; try a larger --heap-kb".format(
                    heap_kb
                )
            )
        raise RuntimeError("the firmware stopped with an error:\n" + err.strip())


def run(args):
    trace = Path(args.trace)
    if args.config:
        configfile.load(args.config)  # clear messages before anything runs
    if args.out:
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise UsageError("--out {}: not a directory".format(out))
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UsageError("--out {}: cannot create the directory ({})".format(out, e.strerror))
        args.out = str(out.resolve())
    stream = events(str(trace), args.config, args.runtime, args.heap_kb, args.out)
    try:
        if args.json:
            for ev in stream:
                print(json.dumps(ev, separators=(",", ":")), flush=True)
        else:
            timeline.render(list(stream), trace.name, args.runtime)
    except RuntimeError as e:
        print("knotball sim: {}".format(e), file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    return 0
