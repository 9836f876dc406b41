package email

import (
	"context"
	"testing"
	"time"

	"github.com/oncallhq/goalert/adapters/email/emailtest"
)

// Port 465 cannot be bound in tests, so implicit TLS is tested on the
// transfer itself; TestSplitAddress covers choosing it.
func TestTransfer_send_implicitTLS(t *testing.T) {
	relay := emailtest.NewServer(t, emailtest.Options{ImplicitTLS: true, Username: "u", Password: "p"})
	tr := transfer{
		cfg:  Config{Username: "u", Password: "p", TLSConfig: relay.TLSConfig()},
		host: "127.0.0.1", addr: relay.Addr(), implicitTLS: true, localName: "goalert.example.com",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply, err := tr.send(ctx, "goalert@example.com", "bob@example.org", []byte("Subject: hi\r\n\r\nhello\r\n"))
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if reply[:3] != "250" {
		t.Errorf("reply: got %q, want 250", reply)
	}
	m := relay.Next(t, time.Second)
	if !m.TLS || m.User != "u" {
		t.Errorf("message: got TLS %v, user %q; want TLS and user u", m.TLS, m.User)
	}
}

func TestSplitAddress(t *testing.T) {
	tests := []struct {
		in, host, port string
		wantErr        bool
	}{
		{"smtp.example.com", "smtp.example.com", "25", false},
		{" smtp.example.com:587 ", "smtp.example.com", "587", false},
		{"smtp.example.com:465", "smtp.example.com", "465", false},
		{"10.0.0.1", "10.0.0.1", "25", false},
		{"[::1]:2525", "::1", "2525", false},
		{"[::1]", "::1", "25", false},
		{"", "", "", true},
		{":25", "", "", true},
	}
	for _, tc := range tests {
		host, port, err := splitAddress(tc.in)
		if (err != nil) != tc.wantErr || host != tc.host || port != tc.port {
			t.Errorf("splitAddress(%q): got %q, %q, %v; want %q, %q, error %v", tc.in, host, port, err, tc.host, tc.port, tc.wantErr)
		}
	}
}

func TestNewTransfer(t *testing.T) {
	tests := []struct {
		port       string
		disableTLS bool
		want       bool
	}{
		{"465", false, true},
		{"465", true, false},
		{"25", false, false},
		{"587", false, false},
	}
	for _, tc := range tests {
		tr := newTransfer(Config{DisableTLS: tc.disableTLS, PublicURL: "https://goalert.example.com/x"}, "smtp.example.com", tc.port)
		if tr.implicitTLS != tc.want {
			t.Errorf("port %s, DisableTLS %v: got implicit TLS %v, want %v", tc.port, tc.disableTLS, tr.implicitTLS, tc.want)
		}
		if tr.addr != "smtp.example.com:"+tc.port || tr.localName != "goalert.example.com" {
			t.Errorf("port %s: got addr %q, local name %q", tc.port, tr.addr, tr.localName)
		}
	}
}
