"""pytest hooks shared by the Python test directories (imported by their conftest.py):
inside the test command a skip is a failure.

scripts/test.sh installs everything the tests use and sets UVWS_TEST_REQUIRE_ALL=1
(CI=true counts too). There a test that skips (pytest.skip, skipif, importorskip,
at run time or at collection) fails instead, with the skip's reason, so that a
missing tool, package or engine feature cannot silently switch a suite off. The
one exception is a documented platform limit: a skip whose reason contains
"platform limit:" (say why in the reason). Outside the test command, skips stay
skips (a developer's machine may lack Chromium or node).
"""

import os

import pytest

PLATFORM_LIMIT = "platform limit:"


def require_all():
    return os.environ.get("UVWS_TEST_REQUIRE_ALL") == "1" or os.environ.get("CI") == "true"


def _reason(report):
    lr = report.longrepr
    if isinstance(lr, tuple) and len(lr) == 3:   # (file, line, "Skipped: reason")
        return str(lr[2])
    return str(lr)


def _fail_skip(report):
    reason = _reason(report)
    if PLATFORM_LIMIT in reason:
        return
    report.outcome = "failed"
    report.longrepr = ("skipped inside the test command, which requires every test to run "
                       "(UVWS_TEST_REQUIRE_ALL=1 or CI=true): %s" % reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.skipped and require_all() and not hasattr(rep, "wasxfail"):
        _fail_skip(rep)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    rep = outcome.get_result()
    if rep.skipped and require_all():
        _fail_skip(rep)
