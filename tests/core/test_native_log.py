"""The CLI keeps mediapipe's native log lines off the terminal and passes everything else on."""

import subprocess
import sys

CODE = r"""
import os, sys, time
from doppel.core.native_log import filter_native_logs
filter_native_logs()
os.write(2, b"W0000 00:00:1796524117.749817   31031 inference_feedback_manager.cc:114] Feedback manager\n")
os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
os.write(2, b"progress 1/2\r")
time.sleep(0.2)
os.write(2, b"progress 2/2\n")
print("real error: keep me", file=sys.stderr)
os.write(2, b"E0000 00:00:1.5  7 graph.cc:9] a native error stays\n")
"""


def test_native_lines_are_dropped_and_the_rest_kept():
    proc = subprocess.run([sys.executable, "-c", CODE], capture_output=True, timeout=60)
    assert proc.returncode == 0
    err = proc.stderr.decode()
    assert "Feedback manager" not in err and "XNNPACK" not in err
    assert "progress 1/2\rprogress 2/2\n" in err
    assert "real error: keep me" in err and "a native error stays" in err


def test_the_filter_can_be_turned_off():
    import os

    env = {**os.environ, "DOPPEL_NATIVE_LOGS": "1"}
    proc = subprocess.run([sys.executable, "-c", CODE], capture_output=True, timeout=60, env=env)
    assert b"Feedback manager" in proc.stderr
