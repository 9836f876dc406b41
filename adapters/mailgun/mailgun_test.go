package mailgun_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/oncallhq/goalert/adapters/httpapi"
	"github.com/oncallhq/goalert/adapters/mailgun"
	"github.com/oncallhq/goalert/adapters/postgres/pgtest"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain/clock"
	"github.com/oncallhq/goalert/domain/config"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/events/pgstore"
)

func TestVerify(t *testing.T) {
	// good was computed outside Go:
	// printf '%s' 1529006854a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de |
	//   openssl dgst -sha256 -hmac key-secret
	const (
		key       = "key-secret"
		timestamp = "1529006854"
		token     = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de"
		good      = "7a54ca5550aa67e2bdfadd05c374623583a1d67b51f35d779fffd61eaa2e2b2d"
	)
	tests := []struct {
		name                      string
		key, ts, token, signature string
		want                      bool
	}{
		{"valid", key, timestamp, token, good, true},
		{"valid, upper-case hex", key, timestamp, token, strings.ToUpper(good), true},
		{"other key", "key-other", timestamp, token, good, false},
		{"other timestamp", key, "1529006855", token, good, false},
		{"other token", key, timestamp, token + "0", good, false},
		{"not hex", key, timestamp, token, "zz" + good[2:], false},
		{"truncated", key, timestamp, token, good[:62], false},
		{"no key configured", "", timestamp, token, signature("", timestamp, token), false},
		{"no token", key, timestamp, "", signature(key, timestamp, ""), false},
	}
	for _, tc := range tests {
		if got := mailgun.Verify(tc.key, tc.ts, tc.token, tc.signature); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestParseRecipient(t *testing.T) {
	const id = "0b9e6a3c-4d5e-4f60-8a7b-9c0d1e2f3a4b"
	tests := []struct {
		in, wantKey, wantDedup string
		wantErr                bool
	}{
		{id + "@alerts.example.com", id, "", false},
		{id + "+disk-1@alerts.example.com", id, "disk-1", false},
		{id + "+a+b@alerts.example.com", id, "a+b", false},
		{strings.ToUpper(id) + "@ALERTS.example.com", id, "", false},
		{"Ops <" + id + "@alerts.example.com>", id, "", false},
		{" " + id + "@alerts.example.com ", id, "", false},
		{id + "@example.com", "", "", true},
		{id + "@x.alerts.example.com", "", "", true},
		{"ops@alerts.example.com", "", "", true},
		{id, "", "", true},
		{"", "", "", true},
	}
	for _, tc := range tests {
		key, dedup, err := mailgun.ParseRecipient(tc.in, "alerts.example.com")
		if tc.wantErr {
			if err == nil {
				t.Errorf("%q: got key %q, want an error", tc.in, key)
			}
			continue
		}
		if err != nil || key != tc.wantKey || dedup != tc.wantDedup {
			t.Errorf("%q: got %q, %q, %v; want %q, %q", tc.in, key, dedup, err, tc.wantKey, tc.wantDedup)
		}
	}
}

// A failure on our side is 5xx, so that Mailgun retries the forward later
// instead of dropping the page.
func TestHandler_DatabaseDownIsRetried(t *testing.T) {
	pool := pgtest.NewPool(t)
	cmds := commands.New(pool, pgstore.New(events.NewRegistry()), clock.System{})
	pool.Close()

	cfg := config.Defaults()
	cfg["Mailgun.Enable"], cfg["Mailgun.APIKey"], cfg["Mailgun.EmailDomain"] = "true", "key-secret", "alerts.example.com"
	srv := httpapi.New(httpapi.Config{Logger: slog.New(slog.DiscardHandler)}, nil)
	mailgun.New(cmds, func() config.Values { return cfg }).Register(srv.Echo())

	form := url.Values{
		"recipient": {uuid.NewString() + "@alerts.example.com"}, "subject": {"Disk full"},
		"timestamp": {"1529006854"}, "token": {"abc"}, "signature": {signature("key-secret", "1529006854", "abc")},
	}
	req := httptest.NewRequest(http.MethodPost, "/api/v2/mailgun/incoming", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code < 500 {
		t.Errorf("with the database down: got %d %s, want a 5xx so Mailgun retries", rec.Code, rec.Body)
	}
}

// signature signs as Mailgun does.
func signature(key, timestamp, token string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(timestamp + token))
	return hex.EncodeToString(mac.Sum(nil))
}
