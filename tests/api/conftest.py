import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from harness import Server, scratch  # noqa: E402


@pytest.fixture
def tmp():
    d = scratch()
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def server(tmp):
    s = Server(tmp).start()
    yield s
    s.stop()
