package app_test

// End-to-end tests of the built-in SMTP server (COMPAT §2): real SMTP
// sessions over loopback against the in-process server, and the alerts
// they raise in the read model.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/smtp"
	"net/textproto"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/oncallhq/goalert/cmd/goalert/app"
	"github.com/oncallhq/goalert/cmd/goalert/app/apptest"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/projections/alerts"
)

const mailDomain = "alerts.example.com"

// smtpTLS returns a server configuration with a fresh self-signed
// certificate for 127.0.0.1 and a client configuration trusting it.
func smtpTLS(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "mx." + mailDomain},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"mx." + mailDomain},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool, ServerName: "mx." + mailDomain}
}

// mailClient opens an SMTP session to addr and says EHLO.
func mailClient(t testing.TB, addr string) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatalf("dial SMTP %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("monitor.example.net"); err != nil {
		t.Fatalf("EHLO: %v", err)
	}
	return c
}

// sendMail runs one mail transaction and returns the first refusal, nil
// when the message was accepted.
func sendMail(c *smtp.Client, to []string, msg string) error {
	if err := c.Mail("bounces@monitor.example.net"); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, strings.ReplaceAll(msg, "\n", "\r\n")); err != nil {
		return err
	}
	return w.Close()
}

// wantReply checks err is the SMTP reply code, with text in its message.
func wantReply(t testing.TB, what string, err error, code int, text string) {
	t.Helper()
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code != code || !strings.Contains(strings.ToLower(te.Msg), strings.ToLower(text)) {
		t.Errorf("%s: got %v, want %d %q", what, err, code, text)
	}
}

// waitAlerts polls the read model until the service has n alerts (newest
// first), failing after a few seconds.
func waitAlerts(t testing.TB, h *apptest.Harness, serviceID string, n int) []alerts.Alert {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		list, err := h.Alerts.List(context.Background(), alerts.Filter{ServiceIDs: []string{serviceID}, Limit: 100})
		if err != nil {
			t.Fatalf("list alerts: %v", err)
		}
		if len(list) >= n || time.Now().After(deadline) {
			if len(list) != n {
				t.Fatalf("service %s: %d alerts, want %d: %+v", serviceID, len(list), n, list)
			}
			return list
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// noAlerts checks, once the read models have caught up, that the service
// has no alert.
func noAlerts(t testing.TB, h *apptest.Harness, serviceID string) {
	t.Helper()
	settle(t, h)
	list, err := h.Alerts.List(context.Background(), alerts.Filter{ServiceIDs: []string{serviceID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Errorf("service %s: got alerts %+v, want none", serviceID, list)
	}
}

func TestSMTP_messagesBecomeAlerts(t *testing.T) {
	t.Parallel()
	h := apptest.New(t, apptest.SMTP(mailDomain, "other.example.org"))

	tests := []struct {
		name, msg, summary, details string
	}{
		{
			name: "plain text",
			msg: `From: Nagios <nagios@monitor.example.net>
Subject: PROBLEM: db-1 disk /var is CRITICAL
Date: Sat, 07 Mar 2026 08:59:58 +0000
Message-ID: <1@monitor.example.net>

Host: db-1
State: CRITICAL (99% used)
`,
			summary: "PROBLEM: db-1 disk /var is CRITICAL",
			details: "From: nagios@monitor.example.net\n\nHost: db-1\nState: CRITICAL (99% used)",
		},
		{
			name: "multipart/alternative uses the text part",
			msg: `From: grafana@example.org
Subject: [FIRING:1] HighLatency
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="XYZ"

--XYZ
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

p99 latency 2.4 s =E2=80=94 over the threshold.
--XYZ
Content-Type: text/html; charset=utf-8

<p>the HTML part</p>
--XYZ--
`,
			summary: "[FIRING:1] HighLatency",
			details: "From: grafana@example.org\n\np99 latency 2.4 s — over the threshold.",
		},
		{
			name: "base64 body",
			msg: `From: backup@example.org
Subject: Backup failed
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

QmFja3VwIG9mIC9zcnYgZmFpbGVkOiBubyBzcGFjZSBsZWZ0IG9uIGRldmljZQ==
`,
			summary: "Backup failed",
			details: "From: backup@example.org\n\nBackup of /srv failed: no space left on device",
		},
		{
			name: "ISO-8859-1 subject and body",
			msg: "From: reseau@exemple.fr\n" +
				"Subject: =?ISO-8859-1?Q?Temp=E9rature_=E9lev=E9e?=\n" +
				"MIME-Version: 1.0\n" +
				"Content-Type: text/plain; charset=ISO-8859-1\n" +
				"Content-Transfer-Encoding: quoted-printable\n" +
				"\n" +
				"La temp=E9rature a d=E9pass=E9 35 =B0C.\n",
			summary: "Température élevée",
			details: "From: reseau@exemple.fr\n\nLa température a dépassé 35 °C.",
		},
		{
			name: "attachment ignored",
			msg: `From: reports@example.org
Subject: Nightly jobs failed
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="B"

--B
Content-Type: text/plain

3 jobs failed, log attached.
--B
Content-Type: text/plain; name="jobs.log"
Content-Disposition: attachment; filename="jobs.log"

SECRET LOG CONTENT
--B
Content-Type: application/octet-stream; name="core.bin"
Content-Disposition: attachment; filename="core.bin"
Content-Transfer-Encoding: base64

AAECAwQFBgcICQ==
--B--
`,
			summary: "Nightly jobs failed",
			details: "From: reports@example.org\n\n3 jobs failed, log attached.",
		},
		{
			name: "HTML only",
			msg: `From: "Uptime" <uptime@saas.example>
Subject: Monitor DOWN: checkout
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><head><style>p{color:red}</style></head><body>
<h2>Monitor&nbsp;DOWN</h2><p>checkout returned <b>503</b> &amp; is
  unreachable.</p><script>alert(1)</script></body></html>
`,
			summary: "Monitor DOWN: checkout",
			details: "From: uptime@saas.example\n\nMonitor DOWN\ncheckout returned 503 & is unreachable.",
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, keys := newService(t, h, "Mail "+tt.name, "email")
			domain := mailDomain
			if i%2 == 1 {
				domain = "Other.Example.ORG" // additional domains, any case
			}
			if err := sendMail(mailClient(t, h.SMTPAddr()), []string{keys[0] + "@" + domain}, tt.msg); err != nil {
				t.Fatalf("send: %v", err)
			}
			a := waitAlerts(t, h, svc, 1)[0]
			if a.Summary != tt.summary || a.Details != tt.details || a.Status != "triggered" || a.Source != "email" {
				t.Errorf("alert:\n got summary %q details %q status %s source %s\nwant summary %q details %q, triggered from email",
					a.Summary, a.Details, a.Status, a.Source, tt.summary, tt.details)
			}
			log, err := h.Alerts.Log(context.Background(), a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(log) != 1 || log[0].Message != "Created via Email" || log[0].Actor != "integration_key:"+keys[0] || log[0].Source != "email" {
				t.Errorf("alert log: got %+v, want one entry \"Created via Email\" by integration_key:%s", log, keys[0])
			}
		})
	}
}

func TestSMTP_refusals(t *testing.T) {
	t.Parallel()
	h := apptest.New(t, apptest.SMTP(mailDomain), func(c *app.Config) { c.SMTP.MaxMessageBytes = 256 << 10 })
	svc, keys := newService(t, h, "Mail refusals", "email", "generic")
	emailKey, genericKey := keys[0], keys[1]
	const msg = "From: x@example.net\nSubject: refused\n\nbody\n"

	t.Run("oversized message is 552 and raises nothing", func(t *testing.T) {
		big := "From: x@example.net\nSubject: big\n\n" + strings.Repeat(strings.Repeat("x", 99)+"\n", 3000)
		wantReply(t, "DATA", sendMail(mailClient(t, h.SMTPAddr()), []string{emailKey + "@" + mailDomain}, big), 552, "too big")
		noAlerts(t, h, svc)
	})
	t.Run("unknown key is 550", func(t *testing.T) {
		wantReply(t, "DATA", sendMail(mailClient(t, h.SMTPAddr()), []string{uuid.NewString() + "@" + mailDomain}, msg), 550, "unknown integration key")
	})
	t.Run("key of another type is 550", func(t *testing.T) {
		wantReply(t, "DATA", sendMail(mailClient(t, h.SMTPAddr()), []string{genericKey + "@" + mailDomain}, msg), 550, "unknown integration key")
	})
	t.Run("not a key is 550", func(t *testing.T) {
		wantReply(t, "RCPT", sendMail(mailClient(t, h.SMTPAddr()), []string{"postmaster@" + mailDomain}, msg), 550, "unknown integration key")
	})
	t.Run("other domain is 550, never relayed", func(t *testing.T) {
		for _, to := range []string{emailKey + "@example.net", "someone@gmail.com", emailKey + "@mx." + mailDomain} {
			wantReply(t, "RCPT "+to, sendMail(mailClient(t, h.SMTPAddr()), []string{to}, msg), 550, "relaying denied")
		}
	})
	t.Run("second recipient past the limit of 1 is 452", func(t *testing.T) {
		svc2, keys2 := newService(t, h, "Mail second", "email")
		c := mailClient(t, h.SMTPAddr())
		if err := c.Mail("x@example.net"); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt(emailKey + "+limit@" + mailDomain); err != nil {
			t.Fatalf("first RCPT: %v", err)
		}
		wantReply(t, "second RCPT", c.Rcpt(keys2[0]+"@"+mailDomain), 452, "too many recipients")
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, "Subject: to the first only\r\n\r\nbody\r\n")
		if err := w.Close(); err != nil {
			t.Fatalf("DATA: %v", err)
		}
		if a := waitAlerts(t, h, svc, 1)[0]; a.Summary != "to the first only" {
			t.Errorf("first recipient's alert: got %q", a.Summary)
		}
		noAlerts(t, h, svc2)
	})
}

func TestSMTP_twoRecipients(t *testing.T) {
	t.Parallel()
	h := apptest.New(t, apptest.SMTP(mailDomain), func(c *app.Config) { c.SMTP.MaxRecipients = 2 })
	svc1, keys1 := newService(t, h, "Mail one", "email")
	svc2, keys2 := newService(t, h, "Mail two", "email")
	to := []string{keys1[0] + "@" + mailDomain, keys2[0] + "@" + mailDomain}
	if err := sendMail(mailClient(t, h.SMTPAddr()), to, "From: x@example.net\nSubject: both\n\nfor two services\n"); err != nil {
		t.Fatalf("send: %v", err)
	}
	for _, svc := range []string{svc1, svc2} {
		if a := waitAlerts(t, h, svc, 1)[0]; a.Summary != "both" {
			t.Errorf("service %s: got alert %q, want \"both\"", svc, a.Summary)
		}
	}
}

func TestSMTP_dedup(t *testing.T) {
	t.Parallel()
	h := apptest.New(t, apptest.SMTP(mailDomain))
	svc, keys := newService(t, h, "Mail dedup", "email")
	c := mailClient(t, h.SMTPAddr())
	for _, subject := range []string{"disk 95%", "disk 97%"} {
		if err := sendMail(c, []string{keys[0] + "+disk-db1@" + mailDomain}, "Subject: "+subject+"\n\nsame +dedup\n"); err != nil {
			t.Fatalf("send %q: %v", subject, err)
		}
	}
	settle(t, h)
	a := waitAlerts(t, h, svc, 1)[0]
	if a.Summary != "disk 95%" || a.DedupKey != "user:1:disk-db1" {
		t.Errorf("alert: got summary %q dedup %q, want the first message's, with key disk-db1", a.Summary, a.DedupKey)
	}
	// A different suffix is a different alert.
	if err := sendMail(c, []string{keys[0] + "+disk-db2@" + mailDomain}, "Subject: disk 97%\n\nother host\n"); err != nil {
		t.Fatal(err)
	}
	waitAlerts(t, h, svc, 2)
}

func TestSMTP_TLS(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := smtpTLS(t)
	h := apptest.New(t, apptest.SMTP(mailDomain), func(c *app.Config) {
		c.SMTP.TLS = serverTLS
		c.SMTPListenTLS = "127.0.0.1:0"
	})
	svc, keys := newService(t, h, "Mail TLS", "email")

	t.Run("STARTTLS on the plain listener", func(t *testing.T) {
		c := mailClient(t, h.SMTPAddr())
		if ok, _ := c.Extension("STARTTLS"); !ok {
			t.Fatal("STARTTLS not offered")
		}
		if err := c.StartTLS(clientTLS); err != nil {
			t.Fatalf("STARTTLS: %v", err)
		}
		if err := sendMail(c, []string{keys[0] + "+starttls@" + mailDomain}, "Subject: over STARTTLS\n\nx\n"); err != nil {
			t.Fatalf("send: %v", err)
		}
	})
	t.Run("implicit TLS listener", func(t *testing.T) {
		conn, err := tls.Dial("tcp", h.SMTPTLSAddr(), clientTLS)
		if err != nil {
			t.Fatalf("TLS dial %s: %v", h.SMTPTLSAddr(), err)
		}
		c, err := smtp.NewClient(conn, "mx."+mailDomain)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := sendMail(c, []string{keys[0] + "+smtps@" + mailDomain}, "Subject: over SMTPS\n\nx\n"); err != nil {
			t.Fatalf("send: %v", err)
		}
	})
	var got []string
	for _, a := range waitAlerts(t, h, svc, 2) {
		got = append(got, a.Summary)
	}
	slices.Sort(got)
	if want := []string{"over SMTPS", "over STARTTLS"}; !slices.Equal(got, want) {
		t.Errorf("alerts: got %q, want %q", got, want)
	}
}

// The key's href is the address to send to.
func TestSMTP_integrationKeyHref(t *testing.T) {
	t.Parallel()
	h := apptest.New(t, apptest.SMTP(mailDomain))
	admin := newAccount(t, h, "Admin Mae", "mae", user.RoleAdmin)
	_, keys := newService(t, h, "Mail href", "email")
	var out struct {
		IntegrationKey struct{ Href string }
	}
	mustGQL(t, h, admin.Token, `query($id: ID!) { integrationKey(id: $id) { href } }`, map[string]any{"id": keys[0]}, &out)
	if want := "mailto:" + keys[0] + "@" + mailDomain; out.IntegrationKey.Href != want {
		t.Errorf("href: got %q, want %q", out.IntegrationKey.Href, want)
	}
}

// Stopping the server with an SMTP client connected does not wait for the
// client to leave.
func TestSMTP_shutdownWithIdleClient(t *testing.T) {
	t.Parallel()
	h := apptest.New(t, apptest.SMTP(mailDomain))
	c := mailClient(t, h.SMTPAddr())
	start := time.Now()
	h.Stop()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %s with an idle SMTP client", d)
	}
	if err := c.Noop(); err == nil {
		t.Error("SMTP connection still open after shutdown")
	}
}
