"""Running code over untrusted input in a child process with limits, so that nothing a file
does can end the web or Celery worker that received it.

    with sandbox.run("upload_reader", request, memory_bytes=…, cpu_seconds=…) as items:
        for item in items:          # what the child's main(request) generator yields
            ...

The child is a fresh interpreter (`python -I -B portal/sandbox.py`, so no Django, no
inherited sockets or file descriptors, an environment without the portal's settings or
secrets) that sets its own limits before reading anything: an address space of
`memory_bytes` (RLIMIT_AS), `cpu_seconds` of CPU time (RLIMIT_CPU), no core files and no
file beyond 1 MB written (its stderr). It imports one module of this directory (named in
CHILD_MODULES), runs its `main(request)` generator and writes each item as one JSON line on
stdout (dates and the like tagged), so the parent reads rows as they are produced and never unpickles anything the
child wrote. The parent also kills the child after `wall_seconds`.

Everything that can go wrong comes back as `SandboxFailure(code, params)`:
  "refused"  the module raised its Refusal(code, **params) (a file it cannot read: params["code"]);
  "memory"   an allocation failed at the limit (Rust's abort, Python's MemoryError, a panic on a
             capacity overflow: in practice a size declared in the file);
  "cpu" / "timeout"  the CPU-time or wall-clock limit was reached;
  "crash"    any other death or exception (a signal, a panic, a bug).
The caller turns the code into a message for the user; nothing the child wrote on stderr is
logged (it could quote the file).
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading

CHILD_MODULES = {"upload_reader"}
HERE = os.path.dirname(os.path.abspath(__file__))


class SandboxFailure(Exception):
    def __init__(self, code: str, params: dict | None = None):
        super().__init__(code)
        self.code = code
        self.params = params or {}


# ---- Values that JSON cannot carry ----------------------------------------------------------------


def _encode(value):
    if isinstance(value, datetime.datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"$d": value.isoformat()}
    if isinstance(value, datetime.time):
        return {"$t": value.isoformat()}
    if isinstance(value, datetime.timedelta):
        return {"$td": value.total_seconds()}
    raise TypeError(type(value).__name__)


def _decoder(error_type):
    def decode(obj: dict):
        if len(obj) == 1:
            key, value = next(iter(obj.items()))
            if key == "$e":
                return error_type(value)
            if key == "$dt":
                return datetime.datetime.fromisoformat(value)
            if key == "$d":
                return datetime.date.fromisoformat(value)
            if key == "$t":
                return datetime.time.fromisoformat(value)
            if key == "$td":
                return datetime.timedelta(seconds=value)
        return obj
    return decode


# ---- The parent ---------------------------------------------------------------------------------------


class Run:
    """One child process; iterate it for the items, close it (or leave the `with`) when done."""

    def __init__(self, module: str, request: dict, *, memory_bytes: int, cpu_seconds: int, wall_seconds: float,
                 error_type=str):
        if module not in CHILD_MODULES:
            raise ValueError(module)
        self._stderr = tempfile.TemporaryFile()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "RUST_BACKTRACE": "0"}
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-B", os.path.join(HERE, "sandbox.py"), module, str(memory_bytes),
             str(cpu_seconds)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env, close_fds=True,
            cwd="/", bufsize=1 << 16)
        self._timer = threading.Timer(wall_seconds, self._timeout)
        self._timer.daemon = True
        self._timer.start()
        self._timed_out = False
        self._decode = _decoder(error_type)
        self._finished = False
        try:
            self.process.stdin.write(json.dumps(request).encode())
            self.process.stdin.close()
        except BrokenPipeError:
            pass  # the child died at once: reported by iteration

    def _timeout(self):
        self._timed_out = True
        self._kill()

    def _kill(self):
        if self.process.poll() is None:
            try:
                self.process.kill()
            except ProcessLookupError:
                pass

    def __iter__(self):
        loads, decode = json.loads, self._decode
        for line in self.process.stdout:
            message = loads(line, object_hook=decode)
            kind = message[0]
            if kind == "i":
                yield message[1]
            elif kind == "end":
                self._finished = True
                return
            elif kind == "r":
                raise SandboxFailure("refused", {"code": message[1], **message[2]})
            elif kind == "m":
                raise SandboxFailure("memory")
            else:
                raise SandboxFailure("memory" if message[1] == "capacity" else "crash", {"exception": message[1]})
        raise self._failure()

    def _failure(self) -> SandboxFailure:
        """Why the child ended without finishing."""
        returncode = self.process.wait()
        self._stderr.seek(0)
        stderr = self._stderr.read(1 << 16)
        if self._timed_out:
            return SandboxFailure("timeout")
        if returncode in (-signal.SIGXCPU, -signal.SIGKILL) and b"memory allocation" not in stderr:
            return SandboxFailure("cpu" if returncode == -signal.SIGXCPU else "crash", {"signal": -returncode})
        # Rust's allocation failure aborts (SIGABRT), with or without its message.
        if (returncode == -signal.SIGABRT or b"memory allocation" in stderr or b"MemoryError" in stderr
                or b"capacity overflow" in stderr):
            return SandboxFailure("memory", {"returncode": returncode})
        return SandboxFailure("crash", {"returncode": returncode})

    def close(self):
        self._timer.cancel()
        if not self._finished:
            self._kill()
        try:
            self.process.stdout.close()
        finally:
            self.process.wait()
            self._stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def run(module: str, request: dict, *, memory_bytes: int, cpu_seconds: int, wall_seconds: float | None = None,
        error_type=str) -> Run:
    return Run(module, request, memory_bytes=memory_bytes, cpu_seconds=cpu_seconds,
               wall_seconds=wall_seconds or cpu_seconds * 2 + 10, error_type=error_type)


# ---- The child ----------------------------------------------------------------------------------------


def _child(module_name: str, memory_bytes: int, cpu_seconds: int) -> None:
    import importlib
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))  # stderr (a file) only
    out = sys.stdout.buffer
    request = json.loads(sys.stdin.buffer.read())
    sys.path.insert(0, HERE)
    module = importlib.import_module(module_name)
    dumps = json.dumps
    try:
        for item in module.main(request):
            out.write(dumps(["i", item], default=_encode, ensure_ascii=False).encode())
            out.write(b"\n")
        out.write(b'["end"]\n')
    except module.Refusal as refusal:
        out.write(dumps(["r", refusal.code, refusal.params], default=str).encode() + b"\n")
    except MemoryError:
        out.write(b'["m"]\n')
    except BaseException as exc:  # noqa: BLE001 - a Rust panic is a BaseException
        # The exception's text may quote the file: only its kind goes back.
        capacity = "capacity overflow" in str(exc) or "allocat" in str(exc)
        out.write(dumps(["x", "capacity" if capacity else type(exc).__name__]).encode() + b"\n")
    out.flush()
    os._exit(0)


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
