package smtpingress

import (
	"strings"
	"testing"
)

// crlf turns a sample written with "\n" into wire format.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestReadEmail(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want email
	}{
		{
			name: "plain text",
			raw: `Return-Path: <nagios@mon.example.net>
Received: from mon.example.net (mon.example.net [192.0.2.10])
	by mx.example.com with ESMTP id 4Xk2; Sat, 07 Mar 2026 09:00:00 +0000
From: Nagios <nagios@mon.example.net>
To: 0b6e8d58-3c0b-4a7f-9c11-6f1f8f5a2b10@alerts.example.com
Subject: ** PROBLEM Service Alert: db-1/Disk /var is CRITICAL **
Date: Sat, 07 Mar 2026 08:59:58 +0000
Message-ID: <20260307085958.1234@mon.example.net>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

Notification Type: PROBLEM

Service: Disk /var
Host: db-1
State: CRITICAL
`,
			want: email{
				Subject: "** PROBLEM Service Alert: db-1/Disk /var is CRITICAL **",
				From:    "nagios@mon.example.net",
				Body:    "Notification Type: PROBLEM\n\nService: Disk /var\nHost: db-1\nState: CRITICAL",
			},
		},
		{
			name: "multipart/alternative prefers text/plain, quoted-printable decoded",
			raw: `From: "Grafana" <grafana@example.org>
Subject: [FIRING:1] HighLatency api
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1_c6f0a0"

This is a multi-part message in MIME format.

--b1_c6f0a0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

p99 latency is 2.4 s =E2=80=94 above the 1 s threshold for service api in r=
egion eu-west-1.

--b1_c6f0a0
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<html><body><p>HTML version =E2=80=94 must not be used</p></body></html>

--b1_c6f0a0--
`,
			want: email{
				Subject: "[FIRING:1] HighLatency api",
				From:    "grafana@example.org",
				Body:    "p99 latency is 2.4 s — above the 1 s threshold for service api in region eu-west-1.",
			},
		},
		{
			name: "base64 body",
			raw: `From: backup@example.org
Subject: =?UTF-8?B?QmFja3VwIGZhaWxlZCDinJg=?=
MIME-Version: 1.0
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: base64

QmFja3VwIG9mIC9zcnYgZmFpbGVkIGF0IDAzOjAwOiBubyBzcGFjZSBsZWZ0IG9uIGRldmljZSDi
nJgK
`,
			want: email{
				Subject: "Backup failed ✘",
				From:    "backup@example.org",
				Body:    "Backup of /srv failed at 03:00: no space left on device ✘",
			},
		},
		{
			name: "ISO-8859-1 subject (RFC 2047) and body",
			raw: "From: =?ISO-8859-1?Q?Surveillance_R=E9seau?= <reseau@exemple.fr>\n" +
				"Subject: =?ISO-8859-1?Q?Temp=E9rature_=E9lev=E9e_salle_serveurs?=\n" +
				"MIME-Version: 1.0\n" +
				"Content-Type: text/plain; charset=ISO-8859-1\n" +
				"Content-Transfer-Encoding: 8bit\n" +
				"\n" +
				"La temp\xe9rature a d\xe9pass\xe9 35 \xb0C \xe0 09:12.\n",
			want: email{
				Subject: "Température élevée salle serveurs",
				From:    "reseau@exemple.fr",
				Body:    "La température a dépassé 35 °C à 09:12.",
			},
		},
		{
			name: "attachments are ignored, text/plain attachment included",
			raw: `From: reports@example.org
Subject: Nightly report
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/plain; charset=utf-8

3 jobs failed; logs attached.
--outer
Content-Type: application/pdf; name="report.pdf"
Content-Disposition: attachment; filename="report.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0K
--outer
Content-Type: text/plain; charset=utf-8; name="jobs.log"
Content-Disposition: inline; filename="jobs.log"

job 17: exit 1 -- this log is an attachment, not the body
--outer--
`,
			want: email{Subject: "Nightly report", From: "reports@example.org", Body: "3 jobs failed; logs attached."},
		},
		{
			name: "HTML only",
			raw: `From: alerts@saas.example
Subject: Monitor DOWN: checkout
MIME-Version: 1.0
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

<!DOCTYPE html><html><head><title>Alert</title><style>p { color: red; }</sty=
le></head>
<body><!-- tracking pixel below -->
<h1>Monitor&nbsp;is&nbsp;DOWN</h1>
<p>Monitor <b>checkout</b>
 has been down since 09:12 &amp; keeps failing.</p>
<table><tr><td>Status</td><td>503</td></tr><tr><td>URL</td><td>https://shop.example/</td></tr></table>
<script>track("x < y");</script>
<img src=3D"https://saas.example/p.gif" width=3D"1">
</body></html>
`,
			want: email{
				Subject: "Monitor DOWN: checkout",
				From:    "alerts@saas.example",
				Body:    "Monitor is DOWN\nMonitor checkout has been down since 09:12 & keeps failing.\nStatus 503\nURL https://shop.example/",
			},
		},
		{
			name: "nested mixed/related/alternative (Apple Mail)",
			raw: `From: Ops <ops@example.org>
Subject: Re: disk
Mime-Version: 1.0 (Mac OS X Mail 16.0)
Content-Type: multipart/mixed; boundary="Apple-Mail=_A"

--Apple-Mail=_A
Content-Type: multipart/related; type="multipart/alternative"; boundary="Apple-Mail=_B"

--Apple-Mail=_B
Content-Type: multipart/alternative; boundary="Apple-Mail=_C"

--Apple-Mail=_C
Content-Transfer-Encoding: 7bit
Content-Type: text/plain; charset=us-ascii

Disk on db-2 is at 97%.
--Apple-Mail=_C
Content-Transfer-Encoding: 7bit
Content-Type: text/html; charset=us-ascii

<html><body>Disk on db-2 is at 97%.<img src="cid:logo"></body></html>
--Apple-Mail=_C--

--Apple-Mail=_B
Content-Type: image/png; name="logo.png"
Content-Disposition: inline; filename="logo.png"
Content-Id: <logo>
Content-Transfer-Encoding: base64

iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==
--Apple-Mail=_B--

--Apple-Mail=_A--
`,
			want: email{Subject: "Re: disk", From: "ops@example.org", Body: "Disk on db-2 is at 97%."},
		},
		{
			name: "Windows-1252 body, folded subject",
			raw: "From: monitor@example.org\n" +
				"Subject: Job \"import\"\n failed\n" +
				"Content-Type: text/plain; charset=windows-1252\n" +
				"Content-Transfer-Encoding: quoted-printable\n" +
				"\n" +
				"The job =93import=94 failed =96 retrying at 10:00 (cost =8010).\n",
			want: email{
				Subject: `Job "import" failed`,
				From:    "monitor@example.org",
				Body:    "The job “import” failed – retrying at 10:00 (cost €10).",
			},
		},
		{
			name: "8-bit body without a charset is read as Latin-1",
			raw:  "From: old@example.org\nSubject: Alarme\n\nCapteur \xe9teint\n",
			want: email{Subject: "Alarme", From: "old@example.org", Body: "Capteur éteint"},
		},
		{
			name: "unknown charset keeps the text",
			raw:  "From: x@example.org\nSubject: =?x-unknown?Q?odd?=\nContent-Type: text/plain; charset=x-unknown\n\nplain ascii body\n",
			want: email{Subject: "=?x-unknown?Q?odd?=", From: "x@example.org", Body: "plain ascii body"},
		},
		{
			name: "unknown transfer encoding keeps the header",
			raw:  "From: x@example.org\nSubject: still an alert\nContent-Transfer-Encoding: x-uuencode\n\nbegin 644 x\n",
			want: email{Subject: "still an alert", From: "x@example.org", Body: "begin 644 x"},
		},
		{
			name: "corrupt base64 keeps what decoded",
			raw:  "From: x@example.org\nSubject: s\nContent-Transfer-Encoding: base64\n\naGVsbG8gd29ybGQ=\n!!!!\n",
			want: email{Subject: "s", From: "x@example.org", Body: "hello world"},
		},
		{
			name: "no subject, no From, control characters removed",
			raw:  "To: k@example.com\n\nline one\x00\x07\nline two\n",
			want: email{Subject: noSubject, Body: "line one\nline two"},
		},
		{
			name: "unparseable From is kept as written",
			raw:  "From: root (Cron Daemon)\nSubject: cron\n\nout\n",
			want: email{Subject: "cron", From: "root (Cron Daemon)", Body: "out"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readEmail(strings.NewReader(crlf(tt.raw)))
			if err != nil {
				t.Fatalf("readEmail: %v", err)
			}
			if got != tt.want {
				t.Errorf("readEmail:\n got %+q\nwant %+q", got, tt.want)
			}
		})
	}
}

func TestReadEmail_malformedHeader(t *testing.T) {
	got, err := readEmail(strings.NewReader(crlf("this is not a header\n\nbody\n")))
	if err == nil {
		t.Fatalf("readEmail: got no error, want one for the header")
	}
	if got.Subject != unreadable || !strings.HasPrefix(got.Body, "The message header could not be parsed") {
		t.Errorf("readEmail: got %+q, want the unreadable-email summary and the reason", got)
	}
}

func TestReadEmail_keepsBoundedText(t *testing.T) {
	huge := strings.Repeat("0123456789abcdef\n", 2*maxPartBytes/17)
	got, err := readEmail(strings.NewReader(crlf("From: x@example.org\nSubject: big\n\n" + huge)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Body) > maxPartBytes {
		t.Errorf("body: kept %d bytes, want at most %d", len(got.Body), maxPartBytes)
	}
}

func TestHTMLToText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"entities", "Tom &amp; Jerry &lt;3 &#x263A; &eacute;t&eacute;", "Tom & Jerry <3 ☺ été"},
		{"unescaped less-than", "if a < b then <b>alert</b>", "if a < b then alert"},
		{"line breaks", "one<br>two<BR/>three<p>four</p>five", "one\ntwo\nthree\nfour\nfive"},
		{"source newlines are spaces", "<p>a long\n  paragraph\r\nwrapped</p>", "a long paragraph wrapped"},
		{"pre keeps lines", "<pre>line 1\nline 2</pre>after", "line 1\nline 2\nafter"},
		{"table", "<table><tr><th>Host</th><th>State</th></tr><tr><td>db-1</td><td>DOWN</td></tr></table>", "Host State\ndb-1 DOWN"},
		{"hidden elements", "<head><title>T</title><style>.a{}</style></head><script type='text/javascript'>var s = '</p>';</script>seen", "seen"},
		{"style end tag must match exactly", "<style>a</styles>b</style>c", "c"},
		{"comments", "a<!-- <p>hidden</p> -->b<!-- unterminated", "ab"},
		{"quoted > in attributes", `<a href="x>y" title='>'>link</a>`, "link"},
		{"unterminated tag", "text<a href=", "text"},
		{"unterminated hidden element", "x<script>never closed", "x"},
		{"nbsp collapses", "a&nbsp;&nbsp; b", "a b"},
		{"uppercase tags", "<HTML><BODY><P>Hi</P><SCRIPT>x</SCRIPT></BODY></HTML>", "Hi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := htmlToText(tt.in); got != tt.want {
				t.Errorf("htmlToText(%q):\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestShorten(t *testing.T) {
	if got := shorten("héllo", 5); got != "héllo" {
		t.Errorf("shorten at the limit: got %q", got)
	}
	if got := shorten("héllo world", 5); got != "héll…" {
		t.Errorf("shorten past the limit: got %q, want %q", got, "héll…")
	}
}

func TestParseDomains(t *testing.T) {
	got := ParseDomains("Alerts.Example.com", " foo.io, @bar.org,,alerts.example.com., ")
	want := []string{"alerts.example.com", "foo.io", "bar.org"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("ParseDomains: got %q, want %q", got, want)
	}
}
