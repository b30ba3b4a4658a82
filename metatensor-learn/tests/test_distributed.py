"""Data-parallel training over two processes (gloo, on loopback)"""

import os
import socket
import subprocess
import sys

import torch

WORKER = os.path.join(os.path.dirname(__file__), "_ddp_worker.py")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_distributed_data_parallel(tmp_path):
    port = _free_port()
    outputs = [tmp_path / f"rank-{rank}.pt" for rank in range(2)]
    workers = [
        subprocess.Popen(
            [sys.executable, WORKER, str(rank), "2", str(port), str(output)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank, output in enumerate(outputs)
    ]
    try:
        logs = [worker.communicate(timeout=180)[0] for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    for worker, log in zip(workers, logs):
        assert worker.returncode == 0, log

    first, second = (torch.load(output, weights_only=True) for output in outputs)
    # in an epoch, each rank sees its half of the systems
    assert len(first["systems"]) == len(second["systems"]) == 12
    assert set(first["systems"]) | set(second["systems"]) == set(range(24))
    # and both end with the same parameters
    assert first["parameters"].keys() == second["parameters"].keys()
    for name, value in first["parameters"].items():
        torch.testing.assert_close(value, second["parameters"][name], rtol=0, atol=0)
    # which learned something
    for losses in (first["losses"], second["losses"]):
        assert losses[-1] < 0.1 * losses[0]
