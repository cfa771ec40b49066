# SPDX-License-Identifier: ISC
"""The e2e fixture's own promises: sanitizer output anywhere in an
instance's logs fails the test that caused it (make check SAN=1)."""
import os
import shutil
import tempfile
import unittest

import qng


class SanitizerReportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="qng-fixture-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def write(self, rel, text):
        p = os.path.join(self.tmp, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)

    def test_clean_logs_report_nothing(self):
        self.write("send.log", "status: exiting\n")
        self.write("log/send/current", "@4000 end msg 1\n")
        self.assertEqual(qng.sanitizer_reports(self.tmp, os.path.join(self.tmp, "san")), "")

    def test_reports_in_logs_and_in_log_path_files(self):
        self.write("log/send/current", "@4000 ==12==ERROR: LeakSanitizer: detected memory leaks\n")
        self.write("smtpd.log", "data.c:10:5: runtime error: signed integer overflow\n")
        self.write("san/asan.4242", "==4242==ERROR: AddressSanitizer: heap-use-after-free\n")
        got = qng.sanitizer_reports(self.tmp, os.path.join(self.tmp, "san"))
        self.assertIn("LeakSanitizer", got)
        self.assertIn("runtime error", got)
        self.assertIn("asan.4242", got)

    def test_instance_cleanup_fails_on_a_report(self):
        inst = qng.Instance()
        self.write_into = inst.tmp
        with open(os.path.join(inst.tmp, "send.log"), "w") as f:
            f.write("==1==ERROR: LeakSanitizer: detected memory leaks\n")
        with self.assertRaises(AssertionError) as cm:
            inst.cleanup()
        self.assertIn("sanitizer output", str(cm.exception))
        self.assertFalse(os.path.exists(inst.tmp))


if __name__ == "__main__":
    unittest.main()
