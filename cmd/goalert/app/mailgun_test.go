package app_test

// Black-box tests of the Mailgun route endpoint (COMPAT §2): a signed
// forward creates an alert; everything a retry cannot fix is 406.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/oncallhq/goalert/cmd/goalert/app/apptest"
	"github.com/oncallhq/goalert/domain/user"
)

const mailgunAPIKey = "key-mailgun-test-0123456789abcdef"

// mailgunForm is a Mailgun route forward, signed with apiKey as Mailgun
// signs it: hex(HMAC-SHA256(apiKey, timestamp+token)).
func mailgunForm(apiKey, recipient, subject, body string) url.Values {
	timestamp := strconv.FormatInt(apptest.Start.Unix(), 10)
	token := strings.ReplaceAll(uuid.NewString(), "-", "")
	mac := hmac.New(sha256.New, []byte(apiKey))
	mac.Write([]byte(timestamp + token))
	return url.Values{
		"recipient":  {recipient},
		"sender":     {"bounce@monitor.example.com"},
		"from":       {"Monitor <monitor@example.com>"},
		"subject":    {subject},
		"body-plain": {body},
		"timestamp":  {timestamp},
		"token":      {token},
		"signature":  {hex.EncodeToString(mac.Sum(nil))},
	}
}

// postMultipart posts form as multipart/form-data, as Mailgun forwards.
func postMultipart(t testing.TB, target string, form url.Values) reply {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, vs := range form {
		for _, v := range vs {
			if err := w.WriteField(k, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return send(t, newRequest(t, http.MethodPost, target, &b, "Content-Type", w.FormDataContentType()))
}

func TestMailgun_Incoming(t *testing.T) {
	t.Parallel()
	h := apptest.New(t, withEncryptionKey)
	admin := newAccount(t, h, "Admin Ann", "ann", user.RoleAdmin)
	svc, keys := newService(t, h, "Mail", "email", "generic")
	emailKey, genericKey := keys[0], keys[1]
	endpoint := h.URL + "/api/v2/mailgun/incoming"
	const domain = "alerts.example.com"

	// alertCount counts the service's alerts once the read models have
	// caught up.
	alertCount := func(t *testing.T) int {
		t.Helper()
		return len(serviceAlerts(t, h, admin.Token, svc))
	}
	wantRefused := func(t *testing.T, what string, form url.Values) {
		t.Helper()
		before := alertCount(t)
		if r := postMultipart(t, endpoint, form); r.Status != http.StatusNotAcceptable {
			t.Errorf("%s: got %s, want 406 so Mailgun does not retry", what, r)
		}
		if after := alertCount(t); after != before {
			t.Errorf("%s: alerts went from %d to %d, want no new alert", what, before, after)
		}
	}

	t.Run("disabled until configured", func(t *testing.T) {
		wantRefused(t, "Mailgun not enabled", mailgunForm(mailgunAPIKey, emailKey+"@"+domain, "Disk full", "db-1"))
	})

	setConfig(t, h, admin.Token, "Mailgun.Enable", "true", "Mailgun.APIKey", mailgunAPIKey, "Mailgun.EmailDomain", domain)

	// Without a built-in SMTP domain, email keys are addressed at the
	// Mailgun route's domain.
	var keyOut struct{ IntegrationKey struct{ Href string } }
	mustGQL(t, h, admin.Token, `query($id: ID!) { integrationKey(id: $id) { href } }`, map[string]any{"id": emailKey}, &keyOut)
	if want := "mailto:" + emailKey + "@" + domain; keyOut.IntegrationKey.Href != want {
		t.Errorf("email key href: got %q, want %q", keyOut.IntegrationKey.Href, want)
	}

	t.Run("a signed forward creates an alert", func(t *testing.T) {
		r := postMultipart(t, endpoint, mailgunForm(mailgunAPIKey, emailKey+"@"+domain, "Disk full on db-1", "/var is at 99%\nsecond line"))
		if r.Status != http.StatusOK {
			t.Fatalf("got %s, want 200", r)
		}
		list := serviceAlerts(t, h, admin.Token, svc)
		if len(list) != 1 {
			t.Fatalf("alerts: got %d, want 1", len(list))
		}
		a := list[0]
		if a.Summary != "Disk full on db-1" || a.Details != "From: Monitor <monitor@example.com>\n\n/var is at 99%\nsecond line" {
			t.Errorf("alert: got summary %q details %q, want the subject, and From: then the body", a.Summary, a.Details)
		}
		var actor, source string
		if err := h.Pool.QueryRow(context.Background(), `SELECT metadata->>'actor', metadata->>'source' FROM events
			WHERE event_name = 'alert.triggered' AND payload->>'service_id' = $1`, svc).Scan(&actor, &source); err != nil {
			t.Fatal(err)
		}
		if actor != "integration_key:"+emailKey || source != "email" {
			t.Errorf("event metadata: got actor %q source %q, want integration_key:%s and email", actor, source, emailKey)
		}
	})

	t.Run("urlencoded, legacy path, domain in another case", func(t *testing.T) {
		before := alertCount(t)
		r := postForm(t, h.URL+"/v1/webhooks/mailgun", mailgunForm(mailgunAPIKey, "Ops <"+strings.ToUpper(emailKey)+"@ALERTS.Example.COM>", "Legacy path", "body"))
		if r.Status != http.StatusOK {
			t.Fatalf("got %s, want 200", r)
		}
		if after := alertCount(t); after != before+1 {
			t.Errorf("alerts: got %d, want %d", after, before+1)
		}
	})

	t.Run("+dedup suffix dedups", func(t *testing.T) {
		before := alertCount(t)
		for _, subject := range []string{"CPU hot", "CPU still hot"} {
			if r := postMultipart(t, endpoint, mailgunForm(mailgunAPIKey, emailKey+"+cpu-1@"+domain, subject, "x")); r.Status != http.StatusOK {
				t.Fatalf("%s: got %s, want 200", subject, r)
			}
		}
		list := serviceAlerts(t, h, admin.Token, svc)
		if len(list) != before+1 || list[0].Summary != "CPU hot" {
			t.Errorf("after two emails to +cpu-1: got %d alerts (newest %q), want one new alert, CPU hot", len(list), list[0].Summary)
		}
	})

	t.Run("client errors are 406", func(t *testing.T) {
		bad := mailgunForm(mailgunAPIKey, emailKey+"@"+domain, "Bad signature", "x")
		bad.Set("signature", strings.Repeat("0", 64))
		wantRefused(t, "bad signature", bad)
		wantRefused(t, "signed with another key", mailgunForm("key-other", emailKey+"@"+domain, "Other key", "x"))
		unsigned := mailgunForm(mailgunAPIKey, emailKey+"@"+domain, "Unsigned", "x")
		unsigned.Del("signature")
		wantRefused(t, "no signature", unsigned)
		wantRefused(t, "wrong domain", mailgunForm(mailgunAPIKey, emailKey+"@elsewhere.example.com", "Wrong domain", "x"))
		wantRefused(t, "subdomain of the domain", mailgunForm(mailgunAPIKey, emailKey+"@x."+domain, "Subdomain", "x"))
		wantRefused(t, "unknown key", mailgunForm(mailgunAPIKey, uuid.NewString()+"@"+domain, "Unknown key", "x"))
		wantRefused(t, "key of another type", mailgunForm(mailgunAPIKey, genericKey+"@"+domain, "Generic key", "x"))
		wantRefused(t, "not a key", mailgunForm(mailgunAPIKey, "ops@"+domain, "Not a key", "x"))
	})

	t.Run("long subject and body are shortened", func(t *testing.T) {
		r := postMultipart(t, endpoint, mailgunForm(mailgunAPIKey, emailKey+"+long@"+domain, strings.Repeat("s", 2000), strings.Repeat("b", 10000)))
		if r.Status != http.StatusOK {
			t.Fatalf("got %s, want 200", r)
		}
		a := serviceAlerts(t, h, admin.Token, svc)[0]
		if n := len([]rune(a.Summary)); n != 1024 || !strings.HasSuffix(a.Summary, "…") {
			t.Errorf("summary: got %d characters, want 1024 ending in …", n)
		}
		if n := len([]rune(a.Details)); n != 6144 || !strings.HasPrefix(a.Details, "From: Monitor") {
			t.Errorf("details: got %d characters, want 6144 starting with From:", n)
		}
	})

	t.Run("disabled again", func(t *testing.T) {
		setConfig(t, h, admin.Token, "Mailgun.Enable", "false")
		wantRefused(t, "Mailgun disabled", mailgunForm(mailgunAPIKey, emailKey+"@"+domain, "After disable", "x"))
	})
}
