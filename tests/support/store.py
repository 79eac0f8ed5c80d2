"""Runs a real `sparkify store` process for a test, on an ephemeral loopback port.

The binary comes from SPARKIFY_BIN (ctest passes $<TARGET_FILE:sparkify>). Each Store gets a
fresh data dir inside a TempDir unless one is given, random root credentials in its
environment, and is stopped (SIGTERM, then SIGKILL) at teardown. The port is read from the line
the store prints once it listens; nothing sleeps to wait for it.
"""
import os
import queue
import re
import secrets
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import threading
import time
import unittest

LISTEN_LINE = re.compile(r"sparkify store listening on (https?)://127\.0\.0\.1:(\d+)")
SKIP_EXIT_CODE = 77  # ctest's SKIP_RETURN_CODE for a missing prerequisite


def sparkify_binary():
    path = os.environ.get("SPARKIFY_BIN", "")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError("set SPARKIFY_BIN to the sparkify binary (ctest does this); got %r" % path)
    return path


def source_dir():
    return os.environ.get("SPARKIFY_SOURCE_DIR") or os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


try:  # bound once here: the child between fork and exec should do as little as possible
    import ctypes
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
except (ImportError, OSError, AttributeError):
    _PRCTL = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """In the child before exec: get SIGKILL if the test process dies, so no store outlives
    a crashed or killed test run (Linux prctl PR_SET_PDEATHSIG)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


def clean_env(**extra):
    """The caller's environment without any AWS_* or SPARKIFY_* setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and not k.startswith("SPARKIFY_")}
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


def random_credentials(prefix="SPKTEST"):
    alphabet = string.ascii_uppercase + string.digits
    key_id = prefix + "".join(secrets.choice(alphabet) for _ in range(20 - len(prefix)))
    secret = "".join(secrets.choice(string.ascii_letters + string.digits + "/+") for _ in range(40))
    return key_id, secret


def poll(predicate, timeout, interval=0.05, what="condition"):
    """Calls predicate() until it returns a truthy value (returned) or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # the predicate may fail until the condition holds
            last_error = e
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s (last error: %r)"
                                 % (timeout, what, last_error))
        time.sleep(interval)


class TempDir:
    """A temporary directory removed by cleanup()."""

    def __init__(self, prefix="sparkify-it-"):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def join(self, *parts):
        return os.path.join(self.path, *parts)

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


class Store:
    """One `sparkify store` process. Not thread-safe; start()/stop() from one thread."""

    def __init__(self, data_dir, root=None, tls=None, args=(), log_dir=None):
        self.data_dir = data_dir
        self.root = root or random_credentials("SPKROOT")
        self.tls = tls  # (cert_file, key_file) or None
        self.args = list(args)
        self.log_dir = log_dir or os.path.dirname(os.path.abspath(data_dir))
        self.proc = None
        self.port = None
        self.scheme = None
        self._stdout_lines = []
        self._stderr_file = None
        self._starts = 0

    @property
    def endpoint(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.port)

    def command(self):
        cmd = [sparkify_binary(), "store", "--data", self.data_dir, "--listen", "127.0.0.1:0"]
        if self.tls:
            cmd += ["--tls-cert", self.tls[0], "--tls-key", self.tls[1]]
        return cmd + self.args

    def start(self, timeout=20):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self._starts += 1
        env = clean_env(SPARKIFY_ROOT_ACCESS_KEY_ID=self.root[0],
                        SPARKIFY_ROOT_SECRET_ACCESS_KEY=self.root[1])
        self._stderr_file = open(os.path.join(self.log_dir, self._log_name()), "wb")
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE,
                                     stderr=self._stderr_file, stdin=subprocess.DEVNULL, env=env,
                                     preexec_fn=_die_with_parent)
        lines = queue.Queue()
        threading.Thread(target=self._drain, args=(self.proc.stdout, lines), daemon=True).start()
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = lines.get(timeout=0.1)
            except queue.Empty:
                line = None
            if line is None:
                if self.proc.poll() is not None and lines.empty():
                    raise RuntimeError("sparkify store exited with %s before listening:\n%s"
                                       % (self.proc.returncode, self.log_tail()))
                if time.monotonic() > deadline:
                    self.kill()
                    raise RuntimeError("sparkify store did not print its listening line in %ss:\n%s"
                                       % (timeout, self.log_tail()))
                continue
            m = LISTEN_LINE.search(line)
            if m:
                self.scheme, self.port = m.group(1), int(m.group(2))
                return self

    def _drain(self, pipe, lines):
        # Keeps reading stdout so the store never blocks on a full pipe.
        for raw in iter(pipe.readline, b""):
            text = raw.decode("utf-8", "replace").rstrip("\n")
            self._stdout_lines.append(text)
            lines.put(text)
        pipe.close()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=15):
        """SIGTERM, then SIGKILL after `timeout`; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._close_log()
        return self.proc.returncode

    def kill(self):
        """kill -9: no chance to flush or clean anything up."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._close_log()

    def _close_log(self):
        if self._stderr_file:
            self._stderr_file.close()
            self._stderr_file = None

    def _log_name(self):
        return "store-%s-%d.err" % (os.path.basename(self.data_dir.rstrip("/")), self._starts)

    def log_tail(self, lines=40):
        out = list(self._stdout_lines[-lines:])
        path = os.path.join(self.log_dir, self._log_name())
        try:
            with open(path, "rb") as f:
                out += f.read().decode("utf-8", "replace").splitlines()[-lines:]
        except OSError:
            pass
        return "\n".join(out)


class StoreTestCase(unittest.TestCase):
    """A test class sharing one store (started in setUpClass) and one temp dir.

    Subclasses may set STORE_ARGS (extra flags) or override make_store(). If any test of the
    class fails, the store's log tail is printed at teardown.
    """

    STORE_ARGS = ()
    _failed = False

    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir()
        try:
            cls.store = cls.make_store()
            cls.store.start()
        except BaseException:
            cls.tmp.cleanup()
            raise

    @classmethod
    def make_store(cls):
        return Store(cls.tmp.join("data"), args=cls.STORE_ARGS)

    @classmethod
    def tearDownClass(cls):
        try:
            status = cls.store.stop()
            if cls._failed or status not in (0, None):
                sys.stderr.write("\n--- store log (%s, exit %s) ---\n%s\n---\n"
                                 % (cls.__name__, status, cls.store.log_tail()))
        finally:
            cls.tmp.cleanup()

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result is not None else 0
        out = super().run(result)
        if result is not None and len(result.failures) + len(result.errors) > before:
            type(self)._failed = True
        return out

    @classmethod
    def unique(cls, prefix="b"):
        """A fresh bucket name, valid for S3."""
        return "%s-%s" % (prefix, secrets.token_hex(6))


def main():
    """unittest.main with the repo's conventions: verbose, summary, non-zero exit on failure."""
    try:
        sparkify_binary()
    except RuntimeError as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(2)
    unittest.main(verbosity=2)


def require(condition, reason):
    """Exits with ctest's skip code when a prerequisite (a client, a module) is missing."""
    if not condition:
        print("SKIP: %s" % reason)
        sys.exit(SKIP_EXIT_CODE)
