"""Run an i-PI simulation with the metatomic driver of i-PI: the server
(``i-pi input.xml``) and the driver (``i-pi-py_driver -m metatomic``) as two
processes talking through a UNIX socket.

Used by ``run_ipi.py`` (next to this file) and by the engines benchmark
(``metatomic/bench/engines_ipi.py``).
"""

import os
import subprocess
import sys
import sysconfig
import time
import xml.etree.ElementTree as ET


def ipi_script(name: str) -> str:
    """The path of the command-line script ``name`` of the ``ipi`` package,
    installed next to this Python"""
    path = os.path.join(sysconfig.get_path("scripts"), name)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"could not find the i-PI command {name!r} in {os.path.dirname(path)}: "
            "install i-PI with `pip install ipi`"
        )
    return path


class IPIRun:
    """i-PI and its metatomic driver, running in ``folder``.

    ``folder`` holds the i-PI input ``input.xml``, the structure ``template``
    (read by the driver for the atomic types, in the order of i-PI's atoms) and
    the exported ``model``. The socket is created in ``folder`` (``-S ./ipi_``
    for both programs), with the ``<address>`` of the ``<ffsocket>`` of
    ``input.xml``; the outputs of the two programs go to ``i-pi.log`` and
    ``driver.log``.

    Use it as a context manager: both processes are killed when leaving the
    ``with`` block if they are still running.

    >>> with IPIRun("run/", "model.pt", "init.xyz") as run:  # doctest: +SKIP
    ...     run.wait(timeout=600)
    """

    PREFIX = "./ipi_"

    def __init__(self, folder, model: str, template: str):
        self.folder = str(folder)
        self.model = model
        self.template = template
        self.processes = []

    def __enter__(self):
        tree = ET.parse(os.path.join(self.folder, "input.xml"))
        address = tree.getroot().find("ffsocket/address").text.strip()
        socket = os.path.join(self.folder, self.PREFIX + address)
        if os.path.exists(socket):
            os.unlink(socket)  # left by a run that was killed

        command = [ipi_script("i-pi"), "input.xml", "-S", self.PREFIX]
        self._start("i-pi", command)
        # the driver can only connect once the server listens
        start = time.monotonic()
        while not os.path.exists(socket):
            if self.processes[0].poll() is not None or time.monotonic() - start > 60:
                self.__exit__(None, None, None)
                raise RuntimeError(f"i-PI did not start:\n{self.logs()}")
            time.sleep(0.05)

        options = f"template={self.template},model={self.model}"
        command = [ipi_script("i-pi-py_driver"), "-m", "metatomic", "-u"]
        command += ["-S", self.PREFIX, "-a", address, "-o", options]
        self._start("driver", command)
        return self

    def _start(self, name, command):
        with open(os.path.join(self.folder, f"{name}.log"), "w") as log:
            process = subprocess.Popen(
                [sys.executable, *command],
                cwd=self.folder,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)

    def running(self) -> bool:
        """Whether both programs are still running"""
        return all(process.poll() is None for process in self.processes)

    def wait(self, timeout: float):
        """Wait for both programs to finish, at most ``timeout`` seconds; raise
        RuntimeError (with the end of their logs) as soon as one of them fails,
        or if they are too slow"""
        deadline = time.monotonic() + timeout
        while True:
            status = [process.poll() for process in self.processes]
            if any(code not in (None, 0) for code in status):
                raise RuntimeError(
                    f"i-PI or its driver failed (exit status {status}):\n{self.logs()}"
                )
            if all(code == 0 for code in status):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"i-PI did not finish in {timeout} s:\n{self.logs()}"
                )
            time.sleep(0.05)

    def logs(self, length: int = 3000) -> str:
        """The last ``length`` characters of the logs of both programs"""
        text = []
        for name in ("i-pi", "driver"):
            path = os.path.join(self.folder, f"{name}.log")
            if os.path.exists(path):
                with open(path) as log:
                    text.append(f"--- {name}.log ---\n{log.read()[-length:]}")
        return "\n".join(text)

    def __exit__(self, *exc):
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
