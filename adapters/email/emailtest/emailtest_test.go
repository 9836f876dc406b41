package emailtest_test

import (
	"errors"
	"fmt"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/oncallhq/goalert/adapters/email/emailtest"
)

type fakeT struct {
	testing.TB
	failed string
}

func (f *fakeT) Helper()                        {}
func (f *fakeT) Fatalf(format string, a ...any) { f.failed = fmt.Sprintf(format, a...) }

const msg = "From: a@example.com\r\nTo: b@example.org\r\nSubject: =?utf-8?q?gr=C3=BC=C3=9F?=\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
	"Gr=C3=BC=C3=9Fe\r\n"

func sendTo(relay *emailtest.Server) error {
	return smtp.SendMail(relay.Addr(), nil, "a@example.com", []string{"b@example.org"}, []byte(msg))
}

func TestServer_RejectNext(t *testing.T) {
	relay := emailtest.NewServer(t, emailtest.Options{})
	relay.RejectNext(1, 451)
	var reply *textproto.Error
	if err := sendTo(relay); !errors.As(err, &reply) || reply.Code != 451 {
		t.Fatalf("first send: got %v, want a 451 reply", err)
	}
	if err := sendTo(relay); err != nil {
		t.Fatalf("second send: %v", err)
	}
	got := relay.Wait(t, 1, time.Second)
	if len(got) != 1 || !got[0].Accepted() || !got[0].ToContains("B@example.org") || got[0].From != "a@example.com" {
		t.Errorf("accepted: got %+v, want the second message", got)
	}
	if all := relay.Attempts(); len(all) != 2 || all[0].Code != 451 {
		t.Errorf("attempts: got %+v, want the 451 and the accepted one", all)
	}
	p, err := got[0].Parse()
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "grüß" || p.Text() != "Grüße\n" || p.ContentType != "text/plain" {
		t.Errorf("parsed: got subject %q, text %q, type %q", p.Subject, p.Text(), p.ContentType)
	}
}

func TestServer_requirements(t *testing.T) {
	relay := emailtest.NewServer(t, emailtest.Options{StartTLS: true, RequireTLS: true})
	var reply *textproto.Error
	c, err := smtp.Dial(relay.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("a@example.com"); !errors.As(err, &reply) || reply.Code != 530 {
		t.Errorf("MAIL without TLS: got %v, want 530", err)
	}

	relay = emailtest.NewServer(t, emailtest.Options{Username: "u", Password: "p"})
	c, err = smtp.Dial(relay.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("AUTH"); ok {
		t.Errorf("AUTH offered without TLS, want it only with InsecureAuth")
	}
	if err := c.Mail("a@example.com"); !errors.As(err, &reply) || reply.Code != 530 {
		t.Errorf("MAIL without AUTH: got %v, want 530", err)
	}
}

func TestServer_Wait_failsTheTest(t *testing.T) {
	relay := emailtest.NewServer(t, emailtest.Options{})
	relay.RejectNext(1, 550)
	_ = sendTo(relay)
	ft := &fakeT{TB: t}
	if got := relay.Wait(ft, 1, 50*time.Millisecond); got != nil || !strings.Contains(ft.failed, "0 messages accepted") {
		t.Errorf("Wait with only a rejected message: got %v, failure %q; want a failure", got, ft.failed)
	}
	ft = &fakeT{TB: t}
	relay.Next(ft, 50*time.Millisecond)
	if ft.failed == "" {
		t.Errorf("Next with nothing accepted: want a failure")
	}
}
