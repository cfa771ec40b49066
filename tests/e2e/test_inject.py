# SPDX-License-Identifier: ISC
"""qmail-inject end to end: messages land in a real instance's queue with
the right envelope (sender, recipients) and header (Date in the local zone,
Message-ID with idhost, From; Bcc, Return-Path and Content-Length gone;
addresses completed with defaulthost/defaultdomain/plusdomain), the -a -A
-h -H -f -n options and the QMAIL* variables do what qmail-inject(8) says,
qmail-queue's verdicts become 0/100/111 with qmail's texts, and hostile
input (NUL, huge headers, bad addresses) is refused with nothing queued.
sendmail, predate, datemail and mailsubj are in test_inject_sendmail.py."""
import email.utils
import os
import re
import stat
import time
import unittest

import qng

DATE_RE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} "
                     r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
                     r"\d\d:\d\d:\d\d [+-]\d{4}$")
MSGID_RE = r"^<\d{14}\.\d+\.[0-9a-f]{8}\.qmail@%s>$"
RECEIVED_RE = re.compile(rb"^Received: \(qmail \d+ invoked by uid \d+\); [^\n]*\n")


def split(mess):
    """(header lines unfolded into (name, value) pairs, body) of a queued
    message, its Received line removed."""
    m = RECEIVED_RE.match(mess)
    assert m, mess[:200]
    mess = mess[m.end():]
    head, sep, body = mess.partition(b"\n\n")
    if not sep:
        head, body = mess.rstrip(b"\n"), b""
    fields = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + "\n" + line.decode("utf-8", "replace"))
            continue
        name, _, value = line.decode("utf-8", "replace").partition(":")
        fields.append((name, value.strip(" ")))
    return fields, body


def field(fields, name):
    vals = [v for n, v in fields if n.lower() == name.lower()]
    return vals[0] if len(vals) == 1 else (vals or None)


class InjectCase(unittest.TestCase):
    def setUp(self):
        self.inst = qng.Instance(me="test.local")
        self.addCleanup(self.inst.cleanup)
        self.env = {"USER": "alice", "TZ": "UTC0"}

    def inject(self, msg, *args, env=None, ok=True):
        e = dict(self.env)
        if env:
            e.update(env)
        if isinstance(msg, str):
            msg = msg.encode()
        r = self.inst.run("qmail-inject", *args, input=msg, env=e)
        if ok:
            self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
            self.assertEqual(r.stderr, b"")
        return r

    def one(self):
        q = self.inst.queued()
        self.assertEqual(len(q), 1, q)
        fields, body = split(q[0]["mess"])
        return q[0], fields, body

    def assertNothingQueued(self):
        self.assertEqual(self.inst.queued(), [])
        self.assertEqual(self.inst.queue_files(), [])


class BasicTest(InjectCase):
    def test_added_fields_and_envelope(self):
        before = time.time()
        self.inject("To: joe@example.test\nSubject: hi\n\nbody\n")
        m, fields, body = self.one()
        self.assertEqual(m["sender"], "alice@test.local")
        self.assertEqual(m["rcpts"], ["joe@example.test"])
        self.assertEqual([n for n, v in fields], ["Date", "Message-ID", "From", "To", "Subject"])
        self.assertRegex(field(fields, "Date"), DATE_RE)
        when = email.utils.parsedate_to_datetime(field(fields, "Date")).timestamp()
        self.assertLessEqual(abs(when - before), 5)
        self.assertRegex(field(fields, "Message-ID"), MSGID_RE % r"test\.local")
        self.assertEqual(field(fields, "From"), "alice@test.local")
        self.assertEqual(body, b"body\n")

    def test_date_in_the_local_time_zone(self):
        for tz, off in (("EST5", "-0500"), ("IST-5:30", "+0530"), ("UTC0", "+0000")):
            self.inject("To: joe@example.test\n\nx\n", env={"TZ": tz})
        dates = [field(split(m["mess"])[0], "Date") for m in self.inst.queued()]
        self.assertEqual(sorted(d[-5:] for d in dates), sorted(["-0500", "+0530", "+0000"]))
        for d in dates:
            self.assertRegex(d, DATE_RE)

    def test_given_fields_are_kept(self):
        msg = ("From: Boss <boss@corp.test>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
               "Message-ID: <given@corp.test>\nTo: joe@example.test\n\nbody\n")
        self.inject(msg)
        m, fields, body = self.one()
        self.assertEqual(field(fields, "From"), "Boss <boss@corp.test>")
        self.assertEqual(field(fields, "Date"), "Mon, 1 Jan 2024 00:00:00 +0000")
        self.assertEqual(field(fields, "Message-ID"), "<given@corp.test>")
        # the envelope sender is not taken from From: (qmail-inject(8))
        self.assertEqual(m["sender"], "alice@test.local")

    def test_bcc_return_path_content_length_removed(self):
        msg = ("To: a@example.test\nCc: b@example.test\nBcc: secret@example.test\n"
               "Return-Path: <bounce@corp.test>\nContent-Length: 12\nSubject: s\n\nbody\n")
        self.inject(msg)
        m, fields, body = self.one()
        names = [n.lower() for n, v in fields]
        for gone in ("bcc", "return-path", "content-length"):
            self.assertNotIn(gone, names)
        self.assertNotIn(b"secret", m["mess"])
        self.assertEqual(m["rcpts"], ["a@example.test", "b@example.test", "secret@example.test"])
        self.assertEqual(m["sender"], "bounce@corp.test")

    def test_bcc_only_gets_hidden_cc(self):
        self.inject("Bcc: a@example.test\nSubject: s\n\nbody\n")
        m, fields, body = self.one()
        self.assertEqual(field(fields, "Cc"), "recipient list not shown: ;")
        self.assertEqual(m["rcpts"], ["a@example.test"])

    def test_resent(self):
        msg = ("Resent-To: r@example.test\nTo: orig@example.test\nFrom: a@corp.test\n"
               "Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <old@corp.test>\n\nbody\n")
        self.inject(msg)
        m, fields, body = self.one()
        self.assertEqual(m["rcpts"], ["r@example.test"])
        self.assertRegex(field(fields, "Resent-Date"), DATE_RE)
        self.assertRegex(field(fields, "Resent-Message-ID"), MSGID_RE % r"test\.local")
        self.assertEqual(field(fields, "Resent-From"), "alice@test.local")
        self.assertEqual(field(fields, "Date"), "Mon, 1 Jan 2024 00:00:00 +0000")

    def test_crlf_becomes_lf(self):
        self.inject(b"To: a@example.test\r\nSubject: s\r\n\r\nline 1\r\nline 2\r\n")
        m, fields, body = self.one()
        self.assertNotIn(b"\r", m["mess"])
        self.assertEqual(body, b"line 1\nline 2\n")

    def test_mbox_from_line_and_body_without_blank_line(self):
        self.inject("From alice Mon Jan  1 00:00:00 2024\nTo: a@example.test\n"
                    "this line is body\nlast line without newline")
        m, fields, body = self.one()
        self.assertEqual(field(fields, "MBOX-Line"), "From alice Mon Jan  1 00:00:00 2024")
        self.assertEqual(body, b"this line is body\nlast line without newline\n")

    def test_dots_are_content(self):
        self.inject("To: a@example.test\n\nline\n.\n..\nafter the dot\n")
        m, fields, body = self.one()
        self.assertEqual(body, b"line\n.\n..\nafter the dot\n")

    def test_large_body_streams_intact(self):
        body = b"".join(b"%08d " % i + b"x" * 90 + b"\n" for i in range(60000))
        self.inject(b"To: a@example.test\n\n" + body)
        m, fields, got = self.one()
        self.assertEqual(got, body)

    def test_large_header_within_the_limit(self):
        subject = "s" * 600000
        self.inject("To: a@example.test\nSubject: %s\n\nbody\n" % subject)
        m, fields, body = self.one()
        self.assertEqual(field(fields, "Subject"), subject)

    def test_many_header_recipients_folded(self):
        rcpts = ["user%d@example.test" % i for i in range(3000)]
        self.inject("To: %s\n\nbody\n" % ", ".join(rcpts))
        m, fields, body = self.one()
        self.assertEqual(m["rcpts"], rcpts)
        head = m["mess"].split(b"\n\n")[0]
        self.assertLessEqual(max(len(line) for line in head.split(b"\n")[1:]), 78)

    def test_n_prints_and_queues_nothing(self):
        r = self.inject("To: a@example.test\nBcc: b@example.test\n\nbody\n", "-n")
        out = r.stdout.decode()
        self.assertTrue(out.startswith("Return-Path: <alice@test.local>\nDate: "), out)
        self.assertIn("\nTo: a@example.test\n\nbody\n", out)
        self.assertNotIn("Bcc", out)
        self.assertNothingQueued()


class RewriteTest(InjectCase):
    def setUp(self):
        super().setUp()
        self.inst.control("defaulthost", "host\n")
        self.inst.control("defaultdomain", "example.test\n")
        self.inst.control("plusdomain", "plus.test\n")
        self.inst.control("idhost", "id.test\n")

    def test_header_and_envelope_rewritten(self):
        self.inject("From: boss\nTo: joe, fred@box, eric@mammoth.cs+\n"
                    "Cc: \"Some One\" <some.one>, x@[192.0.2.1]\n\nbody\n")
        m, fields, body = self.one()
        self.assertEqual(m["rcpts"], ["joe@host.example.test", "fred@box.example.test",
                                      "eric@mammoth.cs.plus.test", "some.one@host.example.test",
                                      "x@[192.0.2.1]"])
        self.assertEqual(field(fields, "To"), "joe@host.example.test, fred@box.example.test, "
                                              "eric@mammoth.cs.plus.test")
        self.assertEqual(field(fields, "Cc"), "\"Some One\" <some.one@host.example.test>, "
                                              "x@[192.0.2.1]")
        self.assertEqual(field(fields, "From"), "boss@host.example.test")
        self.assertEqual(m["sender"], "alice@host.example.test")
        self.assertRegex(field(fields, "Message-ID"), MSGID_RE % r"id\.test")

    def test_old_style_list_and_groups(self):
        self.inject("To: djb fred\nCc: undisclosed-recipients:;\nBcc: team: a, b@x.test;\n\nb\n")
        m, fields, body = self.one()
        self.assertEqual(field(fields, "To"), "djb@host.example.test, fred@host.example.test")
        self.assertEqual(field(fields, "Cc"), "undisclosed-recipients: ;")
        self.assertEqual(m["rcpts"], ["djb@host.example.test", "fred@host.example.test",
                                      "a@host.example.test", "b@x.test"])

    def test_arguments_rewritten(self):
        self.inject("Subject: s\n\nb\n", "joe", "x@y", "<z@plus+>")
        m, fields, body = self.one()
        self.assertEqual(m["rcpts"], ["joe@host.example.test", "x@y.example.test",
                                      "z@plus.plus.test"])

    def test_environment_overrides_control_files(self):
        self.inject("To: joe\n\nb\n", env={"QMAILDEFAULTHOST": "other", "QMAILDEFAULTDOMAIN":
                                           "d.test", "QMAILIDHOST": "envid.test"})
        m, fields, body = self.one()
        self.assertEqual(m["rcpts"], ["joe@other.d.test"])
        self.assertRegex(field(fields, "Message-ID"), MSGID_RE % r"envid\.test")

    def test_defaults_follow_me(self):
        for name in ("defaulthost", "defaultdomain", "plusdomain", "idhost"):
            self.inst.control(name, None)
        self.inst.control("me", "mx.corp.test\n")
        self.inject("To: joe, fred@box\n\nb\n")
        m, fields, body = self.one()
        self.assertEqual(m["rcpts"], ["joe@mx.corp.test", "fred@box.mx.corp.test"])

    def test_bad_control_file_is_temporary(self):
        self.inst.control("defaulthost", "bad host\n")
        r = self.inject("To: joe\n\nb\n", ok=False)
        self.assertEqual(r.returncode, 111)
        self.assertIn(b"control/defaulthost", r.stderr)
        self.assertNothingQueued()


class RecipientsTest(InjectCase):
    MSG = "To: hdr@example.test\nCc: cc@example.test\n\nbody\n"

    def rcpts(self, *args):
        self.inject(self.MSG, *args)
        q = sorted(self.inst.queued(), key=lambda m: m["id"])
        m = [x for x in q if x["id"] not in self.seen][0]
        self.seen.add(m["id"])
        return m["rcpts"]

    def setUp(self):
        super().setUp()
        self.seen = set()

    def test_strategies(self):
        self.assertEqual(self.rcpts(), ["hdr@example.test", "cc@example.test"])
        self.assertEqual(self.rcpts("arg@example.test"), ["arg@example.test"])
        self.assertEqual(self.rcpts("-A", "arg@example.test"), ["arg@example.test"])
        self.assertEqual(self.rcpts("-a", "arg@example.test"), ["arg@example.test"])
        self.assertEqual(self.rcpts("-h", "arg@example.test"), ["hdr@example.test", "cc@example.test"])
        self.assertEqual(self.rcpts("-H", "arg@example.test", "cc@example.test"),
                         ["arg@example.test", "cc@example.test", "hdr@example.test"])
        self.assertEqual(self.rcpts("--", "arg@example.test"), ["arg@example.test"])

    def test_no_recipients(self):
        r = self.inject("Subject: nobody\n\nbody\n", ok=False)
        self.assertEqual(r.returncode, 100)
        self.assertIn(b"no recipients", r.stderr)
        r = self.inject(self.MSG, "-a", ok=False)
        self.assertEqual(r.returncode, 100)
        self.assertNothingQueued()

    def test_usage(self):
        r = self.inject(self.MSG, "-x", ok=False)
        self.assertEqual(r.returncode, 100)
        self.assertIn(b"usage: qmail-inject", r.stderr)
        r = self.inject(self.MSG, "-f", ok=False)
        self.assertEqual(r.returncode, 100)
        self.assertNothingQueued()


class SenderTest(InjectCase):
    def sender_of(self, msg="To: a@example.test\n\nb\n", *args, env=None):
        self.inject(msg, *args, env=env)
        q = self.inst.queued()
        self.assertEqual(len(q), 1)
        # out of todo/, so that the next one is alone there
        os.unlink(self.inst.path("queue", "todo", str(q[0]["id"])))
        return q[0]

    def test_f(self):
        self.assertEqual(self.sender_of("To: a@example.test\n\nb\n", "-fbounce@corp.test")["sender"],
                         "bounce@corp.test")
        self.assertEqual(self.sender_of("To: a@example.test\n\nb\n", "-f", "")["sender"], "")
        self.assertEqual(self.sender_of("To: a@example.test\n\nb\n", "-f", "<>")["sender"], "")
        m = self.sender_of("Return-Path: <rp@corp.test>\nTo: a@example.test\n\nb\n",
                           "-f", "f@corp.test")
        self.assertEqual(m["sender"], "f@corp.test")

    def test_environment(self):
        m = self.sender_of(env={"QMAILSUSER": "bounces", "QMAILSHOST": "lists.test"})
        self.assertEqual(m["sender"], "bounces@lists.test")
        self.assertEqual(field(split(m["mess"])[0], "From"), "alice@test.local")
        m = self.sender_of(env={"QMAILUSER": "joe", "QMAILHOST": "corp.test",
                                "QMAILNAME": "Joe \"J\" Smith"})
        self.assertEqual(m["sender"], "joe@corp.test")
        self.assertEqual(field(split(m["mess"])[0], "From"),
                         "\"Joe \\\"J\\\" Smith\" <joe@corp.test>")
        m = self.sender_of(env={"USER": "", "LOGNAME": "", "MAILUSER": "mu", "MAILHOST":
                                "mh.test", "MAILNAME": "Jörg"})
        self.assertEqual(m["sender"], "mu@mh.test")
        self.assertEqual(field(split(m["mess"])[0], "From"), "=?UTF-8?B?SsO2cmc=?= <mu@mh.test>")
        m = self.sender_of(env={"USER": "", "LOGNAME": ""})
        self.assertEqual(m["sender"], "anonymous@test.local")

    def test_qmailinject_letters(self):
        msg = ("From: other@corp.test\nMessage-ID: <given@corp.test>\n"
               "Return-Path: <rp@corp.test>\nTo: a@example.test\n\nb\n")
        m = self.sender_of(msg, env={"QMAILINJECT": "fis", "NAME": "Al"})
        fields = split(m["mess"])[0]
        self.assertEqual(m["sender"], "alice@test.local")
        self.assertEqual(field(fields, "From"), "\"Al\" <alice@test.local>")
        self.assertRegex(field(fields, "Message-ID"), MSGID_RE % r"test\.local")
        m = self.sender_of(env={"QMAILINJECT": "c", "NAME": "Al"})
        self.assertEqual(field(split(m["mess"])[0], "From"), "alice@test.local (Al)")
        m = self.sender_of(env={"QMAILINJECT": "r"})
        self.assertEqual(m["sender"], "alice-@test.local-@[]")
        m = self.sender_of(env={"QMAILINJECT": "m"})
        self.assertRegex(m["sender"], r"^alice-\d+\.\d+@test\.local$")

    def test_mail_followup_to(self):
        lists = os.path.join(self.inst.tmp, "mft")
        with open(lists, "w") as f:
            f.write("list@lists.test\n")
        m = self.sender_of("To: list@lists.test\nCc: me@example.test\n\nb\n",
                           env={"QMAILMFTFILE": lists})
        self.assertEqual(field(split(m["mess"])[0], "Mail-Followup-To"),
                         "list@lists.test,\n  me@example.test")
        m = self.sender_of("To: other@lists.test\n\nb\n", env={"QMAILMFTFILE": lists})
        self.assertIsNone(field(split(m["mess"])[0], "Mail-Followup-To"))


class QueueVerdictTest(InjectCase):
    def fake_queue(self, script):
        path = os.path.join(self.inst.tmp, "fakeqq")
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + script)
        os.chmod(path, 0o755)
        return path

    def test_qmailqueue_is_honoured(self):
        out = os.path.join(self.inst.tmp, "out")
        qq = self.fake_queue("cat > %s.msg\ncat <&1 > %s.env\nexit 0\n" % (out, out))
        self.inject("To: a@example.test\n\nbody\n", env={"QMAILQUEUE": qq})
        with open(out + ".msg", "rb") as f:
            self.assertTrue(f.read().endswith(b"\nTo: a@example.test\n\nbody\n"))
        with open(out + ".env", "rb") as f:
            self.assertEqual(f.read(), b"Falice@test.local\0Ta@example.test\0\0")
        self.assertNothingQueued()

    def test_exit_codes(self):
        cases = [(31, 100, b"mail server permanently rejected message (#5.3.0)"),
                 (11, 100, b"envelope address too long for qq (#5.1.3)"),
                 (71, 111, b"mail server temporarily rejected message (#4.3.0)"),
                 (53, 111, b"qq write error or disk full (#4.3.0)"),
                 (99, 111, b"qq temporary problem (#4.3.0)")]
        for code, want, text in cases:
            qq = self.fake_queue("cat >/dev/null; cat <&1 >/dev/null; exit %d\n" % code)
            r = self.inject("To: a@example.test\n\nbody\n", env={"QMAILQUEUE": qq}, ok=False)
            self.assertEqual(r.returncode, want, code)
            self.assertEqual(r.stderr, b"qmail-inject: fatal: " + text + b"\n")

    def test_queue_cannot_run(self):
        r = self.inject("To: a@example.test\n\nbody\n",
                        env={"QMAILQUEUE": "/nonexistent/qq"}, ok=False)
        self.assertEqual(r.returncode, 111)
        self.assertIn(b"unable to run qmail-queue", r.stderr)

    def test_queue_crash_is_temporary(self):
        qq = self.fake_queue("kill -9 $$\n")
        r = self.inject("To: a@example.test\n\nbody\n", env={"QMAILQUEUE": qq}, ok=False)
        self.assertEqual(r.returncode, 111)


class HostileTest(InjectCase):
    def refused(self, msg, *args, code=100, text=None, env=None):
        r = self.inject(msg, *args, env=env, ok=False)
        self.assertEqual(r.returncode, code, r.stderr)
        self.assertTrue(r.stderr.startswith(b"qmail-inject: fatal: "), r.stderr)
        self.assertEqual(r.stderr.count(b"\n"), 1, "one line: %r" % r.stderr)
        if text:
            self.assertIn(text, r.stderr)
        self.assertNothingQueued()
        return r

    def test_nul_in_header(self):
        self.refused(b"To: a@example.test\nSubject: a\0b\n\nbody\n", text=b"NUL")

    def test_nul_deep_in_body(self):
        # qmail-queue is already reading when the NUL comes: it must not commit
        body = b"x" * 99 + b"\n"
        self.refused(b"To: a@example.test\n\n" + body * 5000 + b"bad\0byte\n" + body * 10,
                     text=b"NUL")

    def test_huge_header(self):
        r = self.refused(b"To: a@example.test\nSubject: " + b"s" * (2 << 20) + b"\n\nbody\n",
                         text=b"header is longer than 1048576 bytes")
        r = self.refused(b"To: a@example.test\n" + b"X-Junk: 0123456789\n" * 100000 + b"\n")

    def test_bad_header_addresses(self):
        self.refused("To: a@b@c\n\nbody\n", text=b"more than one \"@\"")
        self.refused("To: \"unterminated\n\nbody\n", text=b"quoted string")
        self.refused("To: <a@example.test\n\nbody\n")
        self.refused("To: <>\n\nbody\n", text=b"<> is not a recipient")
        self.refused("From: a@b@c\nTo: x@example.test\n\nbody\n")
        self.refused("To: a@example.test\x01\n\nbody\n", text=b"control character")

    def test_bad_arguments(self):
        self.refused("Subject: s\n\nb\n", "a@b@c", text=b"more than one \"@\"")
        self.refused("Subject: s\n\nb\n", "a@example.test\nBcc: evil@evil.test",
                     text=b"control character")
        self.refused("Subject: s\n\nb\n", "a@example.test, b@example.test",
                     text=b"more than one address")
        self.refused("Subject: s\n\nb\n", "x" * 1000 + "@example.test", text=b"longer than 900")
        self.refused("To: a@example.test\n\nb\n", "-f", "a@b@c")
        self.refused("To: a@example.test\n\nb\n", "-f", "x@example.test\nTo: evil@evil.test")

    def test_bad_environment(self):
        self.refused("To: a@example.test\n\nb\n", env={"NAME": "Al\nBcc: evil@evil.test"},
                     text=b"$NAME contains a control character")
        self.refused("To: a@example.test\n\nb\n", env={"QMAILHOST": "evil.test>\nBcc: x"},
                     text=b"$QMAILHOST is not a valid host name")

    def test_quoted_recipients(self):
        self.inject("Subject: s\n\nb\n", "\"john doe\"@example.test", "\"a@b\"@example.test")
        m, fields, body = self.one()
        self.assertEqual(m["rcpts"], ["john doe@example.test", "a@b@example.test"])

    def test_read_error_queues_nothing(self):
        # stdin is a directory: read fails at once
        e = dict(self.inst.env)
        e.update(self.env)
        import subprocess
        fd = os.open(self.inst.tmp, os.O_RDONLY | os.O_DIRECTORY)
        try:
            r = subprocess.run([os.path.join(self.inst.bin, "qmail-inject"), "a@example.test"],
                               stdin=fd, env=e, capture_output=True, timeout=30)
        finally:
            os.close(fd)
        self.assertEqual(r.returncode, 111)
        self.assertIn(b"unable to read the message", r.stderr)
        self.assertNothingQueued()


if __name__ == "__main__":
    unittest.main()
