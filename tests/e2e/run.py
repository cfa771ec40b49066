#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Run every end-to-end test (tests/e2e/test_*.py) and print one line per
test, then "N passed, N failed".  Arguments select test modules or test
name patterns (unittest's -k): run.py test_smtpd -k pipelining."""
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


class Result(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.passed = 0
        self.t0 = 0.0

    def startTest(self, test):
        self.t0 = time.monotonic()
        super().startTest(test)

    def _name(self, test):
        return test.id().replace("__main__.", "")

    def addSuccess(self, test):
        self.passed += 1
        self.stream.write("ok   %s (%.1fs)\n" % (self._name(test), time.monotonic() - self.t0))
        self.stream.flush()

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.stream.write("FAIL %s\n%s\n" % (self._name(test), self._exc_info_to_string(err, test)))
        self.stream.flush()

    def addError(self, test, err):
        super().addError(test, err)
        self.stream.write("FAIL %s (error)\n%s\n" % (self._name(test), self._exc_info_to_string(err, test)))
        self.stream.flush()

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self.stream.write("FAIL %s (subtest)\n%s\n" % (
                self._name(subtest), self._exc_info_to_string(err, test)))
            self.stream.flush()

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.stream.write("skip %s: %s\n" % (self._name(test), reason))

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.passed += 1

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.failures.append((test, "unexpected success"))

    # quiet the default dots and headers
    def printErrors(self):
        pass


def main():
    args = sys.argv[1:]
    patterns = []
    modules = []
    while args:
        a = args.pop(0)
        if a == "-k" and args:
            patterns.append(args.pop(0))
        else:
            modules.append(a[:-3] if a.endswith(".py") else a)
    loader = unittest.TestLoader()
    if patterns:
        loader.testNamePatterns = ["*%s*" % p for p in patterns]
    if modules:
        suite = unittest.TestSuite(loader.loadTestsFromName(m) for m in modules)
    else:
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    runner = unittest.TextTestRunner(stream=sys.stdout, resultclass=Result, verbosity=0)
    runner._makeResult = lambda: Result(runner.stream, runner.descriptions, 0)
    result = runner.run(suite)
    failed = len(result.failures) + len(result.errors)
    print("%d passed, %d failed" % (result.passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
