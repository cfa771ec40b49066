# SPDX-License-Identifier: ISC
"""sendmail, predate, datemail and mailsubj end to end, with the exact
command lines their callers use: PHP's mail() ("sendmail -t -i", header
fields on stdin, CRLF between its extra headers), cron ("sendmail -i
-FCronDaemon -oem -oi -t"), mailx ("sendmail addr" with "." lines), -f,
-bs speaking SMTP, -bp listing the queue; refused modes and hostile
arguments (-F with a line break, -X files, options after recipients)
leave nothing queued."""
import os
import unittest

from test_inject import DATE_RE, InjectCase, field, split


class SendmailCase(InjectCase):
    def sendmail(self, msg, *args, env=None, ok=True, prog="sendmail"):
        e = dict(self.env)
        if env:
            e.update(env)
        if isinstance(msg, str):
            msg = msg.encode()
        r = self.inst.run(prog, *args, input=msg, env=e)
        if ok:
            self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
            self.assertEqual(r.stderr, b"")
        return r

    def refused(self, msg, *args, code=100, text=None, prog="sendmail", env=None):
        r = self.sendmail(msg, *args, ok=False, prog=prog, env=env)
        self.assertEqual(r.returncode, code, r.stderr)
        self.assertEqual(r.stderr.count(b"\n"), 1, r.stderr)
        if text:
            self.assertIn(text, r.stderr)
        self.assertNothingQueued()
        return r


class CallersTest(SendmailCase):
    def test_php_mail(self):
        # php_mail(): "To: ..\nSubject: ..\n", the extra headers joined by
        # CRLF, then "\n\n" and the message, through sendmail_path
        msg = (b"To: customer@example.test\nSubject: Your order\n"
               b"From: Shop <shop@shop.test>\r\nReply-To: help@shop.test\r\n"
               b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\n\n"
               b"Thank you.\r\n.\r\nBye.\r\n")
        self.sendmail(msg, "-t", "-i", env={"USER": "www-data"})
        m, fields, body = self.one()
        self.assertEqual(m["rcpts"], ["customer@example.test"])
        self.assertEqual(m["sender"], "www-data@test.local")
        self.assertEqual(field(fields, "From"), "Shop <shop@shop.test>")
        self.assertEqual(field(fields, "Reply-To"), "help@shop.test")
        self.assertEqual(field(fields, "Content-Type"), "text/plain; charset=UTF-8")
        self.assertRegex(field(fields, "Date"), DATE_RE)
        self.assertNotIn(b"\r", m["mess"])
        self.assertEqual(body, b"Thank you.\n.\nBye.\n")

    def test_php_mail_with_sender(self):
        # mail($to, $subject, $message, $headers, "-fbounce@shop.test")
        msg = b"To: a@example.test, b@example.test\nSubject: s\n\nbody\n"
        self.sendmail(msg, "-t", "-i", "-fbounce@shop.test", env={"USER": "www-data"})
        m, fields, body = self.one()
        self.assertEqual(m["sender"], "bounce@shop.test")
        self.assertEqual(m["rcpts"], ["a@example.test", "b@example.test"])
        # no From: given: the sender is shown, not the web server's account
        self.assertEqual(field(fields, "From"), "bounce@shop.test")

    def test_cron(self):
        msg = ("From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@box> /usr/bin/backup\n"
               "MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n"
               "Content-Transfer-Encoding: 8bit\nX-Cron-Env: <SHELL=/bin/sh>\n\n"
               "backup done\n")
        self.sendmail(msg, "-i", "-FCronDaemon", "-oem", "-oi", "-t",
                      env={"USER": "root", "LOGNAME": "root"})
        m, fields, body = self.one()
        self.assertEqual(m["rcpts"], ["root@test.local"])
        self.assertEqual(m["sender"], "root@test.local")
        self.assertEqual(field(fields, "From"), "root@test.local (Cron Daemon)")
        self.assertEqual(field(fields, "To"), "root@test.local")
        self.assertEqual(body, b"backup done\n")

    def test_cron_without_from(self):
        self.sendmail("To: root\nSubject: Cron <root@box> true\n\nout\n",
                      "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "-oi", "-t",
                      env={"LOGNAME": "root", "USER": "root"})
        m, fields, body = self.one()
        self.assertEqual(field(fields, "From"), "\"CronDaemon\" <root@test.local>")

    def test_mailx_dots_never_end_the_message(self):
        # mailx runs "sendmail -i addr"; others leave -i out: a line with a
        # single dot is content either way, as in qmail
        for args in (("-i", "--", "user@example.test"), ("user@example.test",)):
            self.sendmail("Subject: report\n\nline 1\n.\nline 3\n.\n", *args)
        for m in self.inst.queued():
            fields, body = split(m["mess"])
            self.assertEqual(m["rcpts"], ["user@example.test"])
            self.assertEqual(body, b"line 1\n.\nline 3\n.\n")
            self.assertEqual(field(fields, "Cc"), "recipient list not shown: ;")
        self.assertEqual(len(self.inst.queued()), 2)

    def test_t_adds_arguments(self):
        self.sendmail("To: hdr@example.test\n\nb\n", "-t", "arg@example.test")
        m, fields, body = self.one()
        self.assertEqual(m["rcpts"], ["arg@example.test", "hdr@example.test"])

    def test_arguments_only_without_t(self):
        self.sendmail("To: hdr@example.test\n\nb\n", "arg@example.test")
        m, fields, body = self.one()
        self.assertEqual(m["rcpts"], ["arg@example.test"])

    def test_f_and_F(self):
        self.sendmail("Subject: s\n\nb\n", "-f", "news@corp.test", "-F", "Corp News",
                      "a@example.test", env={"NAME": "Alice"})
        m, fields, body = self.one()
        self.assertEqual(m["sender"], "news@corp.test")
        self.assertEqual(field(fields, "From"), "\"Corp News\" <news@corp.test>")

    def test_f_alone_drops_the_callers_name(self):
        self.sendmail("Subject: s\n\nb\n", "-fnews@corp.test", "a@example.test",
                      env={"NAME": "Alice"})
        m, fields, body = self.one()
        self.assertEqual(field(fields, "From"), "news@corp.test")

    def test_null_sender(self):
        self.sendmail("Subject: s\n\nb\n", "-f", "<>", "a@example.test")
        m, fields, body = self.one()
        self.assertEqual(m["sender"], "")

    def test_ignored_options(self):
        log = os.path.join(self.inst.tmp, "x-log")
        self.sendmail("To: a@example.test\n\nb\n", "-oi", "-odb", "-odi", "-om", "-oem", "-v",
                      "-N", "never", "-B", "8BITMIME", "-X", log, "-C", "/nonexistent",
                      "-U", "-t")
        self.one()
        self.assertFalse(os.path.exists(log))


class ModesTest(SendmailCase):
    def test_bs_speaks_smtp(self):
        dialog = (b"HELO box\r\nMAIL FROM:<a@corp.test>\r\nRCPT TO:<c@far.test>\r\n"
                  b"DATA\r\nSubject: via -bs\r\n\r\nhello\r\n.\r\nQUIT\r\n")
        r = self.sendmail(dialog, "-bs", ok=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        codes = [line[:3] for line in out.split("\r\n") if line]
        self.assertEqual(codes, ["220", "250", "250", "250", "354", "250", "221"], out)
        q = self.inst.queued()
        self.assertEqual(len(q), 1)
        self.assertEqual(q[0]["sender"], "a@corp.test")
        self.assertEqual(q[0]["rcpts"], ["c@far.test"])  # RELAYCLIENT: may relay
        self.assertIn(b"Subject: via -bs\n\nhello\n", q[0]["mess"])

    def test_bp_lists_the_queue(self):
        if not os.path.exists(self.inst.path("bin", "qmail-qread")):
            self.skipTest("qmail-qread is not built yet")
        self.sendmail("To: listed@example.test\n\nb\n", "-t")
        # qmail-qread lists preprocessed messages only (as qmail-1.03's):
        # do here what qmail-send would, an info/ and a remote/ file
        n = self.inst.queue_ids("todo")[0]
        with open(self.inst.path("queue", "todo", str(n)), "rb") as f:
            recs = f.read().split(b"\0")
        for d, rec in (("info", [r for r in recs if r[:1] == b"F"]),
                       ("remote", [r for r in recs if r[:1] == b"T"])):
            self.inst.write(self.inst.path("queue", d, str(n % 23), str(n)),
                            b"".join(r + b"\0" for r in rec), 0o600)
        os.unlink(self.inst.path("queue", "todo", str(n)))
        r = self.sendmail(b"", "-bp", ok=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"listed@example.test", r.stdout)
        self.assertIn(b"<alice@test.local>", r.stdout)
        # installed as mailq, it is sendmail -bp
        link = self.inst.path("bin", "mailq")
        os.symlink("sendmail", link)
        r2 = self.sendmail(b"", prog="mailq", ok=False)
        self.assertEqual(r2.returncode, 0, r2.stderr)
        self.assertEqual(r2.stdout, r.stdout)

    def test_refused_modes(self):
        msg = "To: a@example.test\n\nb\n"
        self.refused(msg, "-q", text=b"-q is not supported")
        self.refused(msg, "-q30m", text=b"-q is not supported")
        self.refused(msg, "-bd", text=b"-bd is not supported")
        self.refused(msg, "-bi", text=b"-bi is not supported")
        self.refused(msg, "-bv", "a@example.test", text=b"-bv is not supported")
        self.refused(msg, "-I", text=b"newaliases")
        self.refused(msg, "-Z", "a@example.test", text=b"unknown option -Z")
        self.refused(msg, "-t", "-f", text=b"option -f needs an argument")
        link = self.inst.path("bin", "newaliases")
        os.symlink("sendmail", link)
        self.refused(msg, prog="newaliases", text=b"newaliases is not supported")

    def test_no_recipients(self):
        self.refused("To: a@example.test\n\nb\n", text=b"no recipients")
        self.refused("Subject: s\n\nb\n", "-t", text=b"no recipients")


class HostileTest(SendmailCase):
    def test_F_with_a_line_break(self):
        self.refused("To: a@example.test\n\nb\n", "-t", "-F", "Al\nBcc: evil@evil.test",
                     text=b"control character")
        self.refused("To: a@example.test\n\nb\n", "-t", "-FAl\r\nTo: evil@evil.test",
                     text=b"control character")

    def test_option_after_recipient(self):
        self.refused("b\n", "a@example.test", "-f", "x@evil.test", text=b"options go before")
        self.refused("b\n", "--", "-oQueueDirectory=/tmp", text=b"options go before")

    def test_bad_addresses(self):
        self.refused("Subject: s\n\nb\n", "a@b@c", text=b"more than one \"@\"")
        self.refused("Subject: s\n\nb\n", "a@example.test\nBcc: evil@evil.test",
                     text=b"control character")
        self.refused("Subject: s\n\nb\n", "-f", "a\nb@c", "a@example.test",
                     text=b"control character")
        self.refused("To: a@b@c\n\nb\n", "-t", text=b"more than one \"@\"")

    def test_nul(self):
        self.refused(b"To: a@example.test\n\nb\0\n", "-t", "-i", text=b"NUL")


class HelpersTest(SendmailCase):
    def test_predate(self):
        r = self.inst.run("predate", "cat", input=b"Subject: s\n\nbody\n",
                          env={"TZ": "EST5"})
        self.assertEqual(r.returncode, 0, r.stderr)
        first, rest = r.stdout.split(b"\n", 1)
        self.assertTrue(first.startswith(b"Date: "))
        self.assertRegex(first[6:].decode(), DATE_RE)
        self.assertTrue(first.endswith(b"-0500"))
        self.assertEqual(rest, b"Subject: s\n\nbody\n")

    def test_predate_exit_codes(self):
        r = self.inst.run("predate", "sh", "-c", "cat >/dev/null; exit 7", input=b"x\n")
        self.assertEqual(r.returncode, 7)
        r = self.inst.run("predate", "/nonexistent/prog", input=b"x\n")
        self.assertEqual(r.returncode, 111)
        self.assertIn(b"/nonexistent/prog", r.stderr)
        r = self.inst.run("predate", "sh", "-c", "kill -9 $$", input=b"x\n")
        self.assertEqual(r.returncode, 111)
        self.assertIn(b"killed by a signal", r.stderr)
        r = self.inst.run("predate")
        self.assertEqual(r.returncode, 100)
        self.assertIn(b"usage", r.stderr)

    def test_datemail(self):
        self.sendmail("To: a@example.test\nSubject: s\n\nbody\n", "-t", prog="datemail",
                      env={"TZ": "IST-5:30"})
        m, fields, body = self.one()
        self.assertEqual([n for n, v in fields].count("Date"), 1)
        self.assertTrue(field(fields, "Date").endswith("+0530"))
        # predate's Date is one of the message's own fields: they come after
        # those qmail-inject adds
        names = [n for n, v in fields]
        self.assertLess(names.index("Message-ID"), names.index("Date"))
        self.assertEqual(m["rcpts"], ["a@example.test"])

    def test_mailsubj(self):
        self.sendmail("the body\n", "weekly report", "a@example.test", "b",
                      prog="mailsubj")
        m, fields, body = self.one()
        self.assertEqual(field(fields, "Subject"), "weekly report")
        self.assertEqual(field(fields, "To"), "a@example.test, b@test.local")
        self.assertEqual(m["rcpts"], ["a@example.test", "b@test.local"])
        self.assertEqual(body, b"the body\n")

    def test_mailsubj_utf8_subject(self):
        self.sendmail("x\n", "Grüße", "a@example.test", prog="mailsubj")
        m, fields, body = self.one()
        self.assertEqual(field(fields, "Subject"), "=?UTF-8?B?R3LDvMOfZQ==?=")

    def test_mailsubj_refuses_injection(self):
        self.refused("x\n", "hi\nBcc: evil@evil.test", "a@example.test", prog="mailsubj",
                     text=b"control character")
        self.refused("x\n", "hi", "a@example.test\nBcc: evil@evil.test", prog="mailsubj",
                     text=b"control character")
        self.refused("x\n", "only a subject", prog="mailsubj", text=b"usage")


if __name__ == "__main__":
    unittest.main()
