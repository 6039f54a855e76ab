# A skip inside the test command is a failure (tests/pytest_require_all.py).
import os
import sys

sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pytest_require_all import pytest_make_collect_report, pytest_runtest_makereport  # noqa: E402,F401
