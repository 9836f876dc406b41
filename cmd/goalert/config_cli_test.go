package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/oncallhq/goalert/adapters/postgres/pgtest"
)

// `goalert config set` stores a value, encrypting secrets before they are
// written anywhere; `config get` reads it back with secrets masked.
func TestConfigCLI(t *testing.T) {
	url := pgtest.NewURL(t)
	key := "--data-encryption-key=test-key"
	run := func(args ...string) result {
		t.Helper()
		return goalert(t, nil, append(args, "--db-url", url, key)...)
	}
	if r := run("config", "set", "Mailgun.EmailDomain", "mail.example.com"); r.code != 0 {
		t.Fatalf("set: exit %d: %s", r.code, r.stderr)
	}
	const secret = "key-very-secret-123"
	if r := run("config", "set", "Mailgun.APIKey", secret); r.code != 0 || strings.Contains(r.stdout, secret) {
		t.Fatalf("set secret: exit %d, stdout %q (must not echo the secret): %s", r.code, r.stdout, r.stderr)
	}
	if r := run("config", "get", "Mailgun.EmailDomain"); strings.TrimSpace(r.stdout) != "mail.example.com" {
		t.Errorf("get: got %q, want mail.example.com", r.stdout)
	}
	if r := run("config", "get", "Mailgun.APIKey"); strings.TrimSpace(r.stdout) != "********" {
		t.Errorf("get secret: got %q, want it masked", r.stdout)
	}
	all := run("config", "get")
	if !strings.Contains(all.stdout, "Mailgun.EmailDomain") || strings.Contains(all.stdout, secret) {
		t.Errorf("get all: missing values or shows the secret:\n%s", all.stdout)
	}
	if r := run("config", "get", "No.Such"); r.code != 2 {
		t.Errorf("unknown key: exit %d, want 2", r.code)
	}
	if r := run("config", "set", "General.DisableSMSLinks", "maybe"); r.code == 0 {
		t.Errorf("a non-boolean for a boolean: exit 0, want failure")
	}

	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var leaks int
	if err := conn.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM events WHERE payload::text LIKE '%' || $1 || '%') +
		(SELECT count(*) FROM config_values WHERE value LIKE '%' || $1 || '%')`, secret).Scan(&leaks); err != nil {
		t.Fatal(err)
	}
	if leaks != 0 {
		t.Errorf("the secret is stored in plain text in %d rows", leaks)
	}
}
