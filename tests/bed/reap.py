"""reap.py CMD [ARGS...]: run CMD as a child subreaper.

danted forks helper processes that outlive its main process by a moment on
SIGTERM; left to init they linger as zombies after the bed has gone.  This
wrapper forwards SIGTERM/SIGINT to CMD, then kills and reaps every process
reparented to it, and exits with CMD's status.
"""
import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36


def children():
    me = str(os.getpid())
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                stat = f.read()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[1] == me:
            out.append(int(p))
    return out


def main(argv):
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    pid = os.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, f: os.kill(pid, s))
    status, main_done = 0, False
    while True:
        try:
            got, st = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        if got == pid:
            status, main_done = os.waitstatus_to_exitcode(st), True
        if main_done:
            for c in children():  # the orphans of CMD, now ours
                try:
                    os.kill(c, signal.SIGKILL)
                except OSError:
                    pass
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
