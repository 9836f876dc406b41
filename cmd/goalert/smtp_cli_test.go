package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/oncallhq/goalert/adapters/postgres/pgtest"
)

// Mistakes in the SMTP flags stop start-up with exit code 2 and say what to fix.
func TestSMTPFlags_errors(t *testing.T) {
	const db = "--db-url=postgres://nope@127.0.0.1:1/x"
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{name: "listener without domain", args: []string{db, "--smtp-listen=127.0.0.1:0"},
			want: "error: --email-integration-domain is required when --smtp-listen or --smtp-listen-tls is set"},
		{name: "TLS listener without domain, from env", env: []string{"GOALERT_SMTP_LISTEN_TLS=127.0.0.1:0", "GOALERT_SMTP_TLS_CERT_DATA=c", "GOALERT_SMTP_TLS_KEY_DATA=k"}, args: []string{db},
			want: "error: --email-integration-domain is required"},
		{name: "TLS listener without certificate", args: []string{db, "--smtp-listen-tls=127.0.0.1:0", "--email-integration-domain=example.com"},
			want: "error: --smtp-listen-tls requires a certificate and a key: set --smtp-tls-cert-file and --smtp-tls-key-file, or --smtp-tls-cert-data and --smtp-tls-key-data"},
		{name: "certificate without key for STARTTLS", args: []string{db, "--smtp-listen=127.0.0.1:0", "--email-integration-domain=example.com", "--smtp-tls-cert-file=/c"},
			want: "error: STARTTLS on --smtp-listen requires a certificate and a key"},
		{name: "file and data", args: []string{db, "--smtp-listen-tls=127.0.0.1:0", "--email-integration-domain=example.com", "--smtp-tls-cert-file=/c", "--smtp-tls-cert-data=c", "--smtp-tls-key-data=k"},
			want: "error: give only one of --smtp-tls-cert-file and --smtp-tls-cert-data"},
		{name: "no recipients", args: []string{db, "--smtp-listen=127.0.0.1:0", "--email-integration-domain=example.com", "--smtp-max-recipients=0"},
			want: "error: --smtp-max-recipients must be at least 1, got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := goalert(t, tt.env, tt.args...)
			if r.code != 2 {
				t.Errorf("exit code: got %d, want 2", r.code)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr: got:\n%s\nwant it to contain %q", r.stderr, tt.want)
			}
			if strings.Contains(r.stderr, "not supported yet") {
				t.Errorf("stderr calls an SMTP flag unsupported:\n%s", r.stderr)
			}
		})
	}
}

func TestParse_SMTPFlags(t *testing.T) {
	cfg, err := parse(t, map[string]string{"GOALERT_SMTP_ADDITIONAL_DOMAINS": "a.example,b.example"}, "--db-url=postgres://db",
		"--smtp-listen=:2525", "--email-integration-domain=alerts.example.com", "--smtp-max-recipients=3")
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	if cfg.SMTPListen != ":2525" || cfg.EmailIntegrationDomain != "alerts.example.com" || cfg.SMTPAdditionalDomains != "a.example,b.example" || cfg.SMTPMaxRecipients != 3 {
		t.Errorf("config: %+v", cfg)
	}
	// The domain alone sets the address shown for email keys.
	if _, err := parse(t, nil, "--db-url=postgres://db", "--email-integration-domain=alerts.example.com"); err != nil {
		t.Errorf("--email-integration-domain alone: %v, want accepted", err)
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key as
// PEM files, and returns their paths and a client configuration trusting it.
func writeCert(t *testing.T) (certFile, keyFile string, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mx.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"mx.test"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, &tls.Config{RootCAs: pool, ServerName: "mx.test"}
}

func TestSMTPTLSConfig_fromData(t *testing.T) {
	certFile, keyFile, _ := writeCert(t)
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := smtpTLSConfig(Config{SMTPListen: ":25", SMTPTLSCertData: string(certPEM), SMTPTLSKeyFile: keyFile})
	if err != nil || c == nil || len(c.Certificates) != 1 {
		t.Fatalf("certificate from data and key from file: got %v, %v", c, err)
	}
	if c, err := smtpTLSConfig(Config{SMTPListen: ":25"}); c != nil || err != nil {
		t.Errorf("no certificate: got %v, %v, want none", c, err)
	}
	if _, err := smtpTLSConfig(Config{SMTPListenTLS: ":465", SMTPTLSCertData: "junk", SMTPTLSKeyData: "junk"}); err == nil {
		t.Error("junk PEM: got no error")
	}
}

// The binary serves SMTP on both listeners with the certificate from
// files, refuses mail for other domains and unknown keys, and shuts down
// cleanly on SIGTERM.
func TestServe_SMTP(t *testing.T) {
	url := pgtest.NewURL(t)
	certFile, keyFile, clientTLS := writeCert(t)
	smtpAddr, smtpsAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "--db-url", url, "--listen", freeAddr(t),
		"--smtp-listen", smtpAddr, "--smtp-listen-tls", smtpsAddr, "--smtp-tls-cert-file", certFile, "--smtp-tls-key-file", keyFile,
		"--email-integration-domain", "alerts.example.com")
	cmd.Env = cleanEnv("GOALERT_SMTP_ADDITIONAL_DOMAINS=other.example.org")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitLine(t, lines, "Receiving email.", 20*time.Second)

	c, err := smtp.Dial(smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(clientTLS); err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	if err := c.Mail("x@example.net"); err != nil {
		t.Fatal(err)
	}
	wantSMTPCode(t, "RCPT to another domain", c.Rcpt(uuid.NewString()+"@example.net"), 550)
	if err := c.Rcpt(uuid.NewString() + "@Other.Example.org"); err != nil {
		t.Fatalf("RCPT to an additional domain: %v", err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "Subject: test\r\n\r\nbody\r\n")
	wantSMTPCode(t, "DATA for an unknown key", w.Close(), 550)
	c.Quit()

	conn, err := tls.Dial("tcp", smtpsAddr, clientTLS)
	if err != nil {
		t.Fatalf("SMTPS: %v", err)
	}
	sc, err := smtp.NewClient(conn, "mx.test")
	if err != nil {
		t.Fatalf("SMTPS greeting: %v", err)
	}
	sc.Quit()

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitLine(t, lines, "Shut down.", 20*time.Second)
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v, want 0", err)
	}
	if _, err := net.DialTimeout("tcp", smtpAddr, time.Second); err == nil {
		t.Error("SMTP port still open after exit")
	}
}

func wantSMTPCode(t *testing.T, what string, err error, code int) {
	t.Helper()
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code != code {
		t.Errorf("%s: got %v, want %d", what, err, code)
	}
}
