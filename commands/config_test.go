package commands_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/oncallhq/goalert/adapters/keyring"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/config"
)

// testKeyring seals and opens secrets the way the app does.
func testKeyring(t *testing.T) (seal, open func(string) (string, error)) {
	t.Helper()
	kr, err := keyring.New("config test data encryption key", "")
	if err != nil {
		t.Fatal(err)
	}
	open = func(s string) (string, error) {
		v, _, err := kr.DecryptString(s)
		return v, err
	}
	return kr.EncryptString, open
}

func readConfig(t *testing.T, h *commands.Handler, open func(string) (string, error)) config.Values {
	t.Helper()
	v, err := h.Config(context.Background(), open)
	if err != nil {
		t.Fatalf("Config: %v", err)
	}
	return v
}

func countConfigEvents(t *testing.T, h *commands.Handler) int {
	t.Helper()
	var n int
	if err := h.Pool().QueryRow(context.Background(), `SELECT count(*) FROM events WHERE event_name = 'config.value_set'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestHandler_SetConfig(t *testing.T) {
	ctx := context.Background()
	seal, open := testKeyring(t)

	t.Run("round trip with defaults for the rest", func(t *testing.T) {
		h := newHandler(t)
		_, err := h.SetConfig(ctx, map[string]string{
			"General.ApplicationName":      " Pager ",
			"Maintenance.AlertCleanupDays": " 30",
			"General.DisableSMSLinks":      "true",
			"GitHub.AllowedUsers":          "ann\n\n  bob \n",
		}, seal)
		if err != nil {
			t.Fatalf("SetConfig: %v", err)
		}
		got := readConfig(t, h, open)
		want := map[string]string{
			"General.ApplicationName":      "Pager",
			"Maintenance.AlertCleanupDays": "30",
			"General.DisableSMSLinks":      "true",
			"GitHub.AllowedUsers":          "ann\nbob",
			"Mailgun.Enable":               "false",
			"Maintenance.APIKeyExpireDays": "0",
			"SMTP.Address":                 "",
		}
		for id, w := range want {
			if got[id] != w {
				t.Errorf("%s: got %q, want %q", id, got[id], w)
			}
		}
		if len(got) != len(config.Fields()) {
			t.Errorf("Config returned %d values, want one per field (%d)", len(got), len(config.Fields()))
		}
		if users := got.Strings("GitHub.AllowedUsers"); len(users) != 2 || users[1] != "bob" {
			t.Errorf("Strings(GitHub.AllowedUsers): got %q, want [ann bob]", users)
		}
	})

	t.Run("unchanged values write nothing", func(t *testing.T) {
		h := newHandler(t)
		if _, err := h.SetConfig(ctx, map[string]string{"General.ApplicationName": "Pager"}, seal); err != nil {
			t.Fatal(err)
		}
		res, err := h.SetConfig(ctx, map[string]string{"General.ApplicationName": "Pager", "Mailgun.Enable": "false"}, seal)
		if err != nil {
			t.Fatal(err)
		}
		if res.Wrote() || countConfigEvents(t, h) != 1 {
			t.Errorf("setting current values: wrote %v, %d events in all; want nothing new, 1 event", res.Wrote(), countConfigEvents(t, h))
		}
	})

	t.Run("bad input is refused and nothing is stored", func(t *testing.T) {
		h := newHandler(t)
		good := map[string]string{"General.ApplicationName": "Should not be stored"}
		tests := []struct {
			name      string
			id, value string
			wantField string
		}{
			{"unknown id", "General.NoSuchThing", "x", "General.NoSuchThing"},
			{"boolean", "Mailgun.Enable", "yes", "Mailgun.Enable"},
			{"integer", "Maintenance.AlertCleanupDays", "thirty", "Maintenance.AlertCleanupDays"},
			{"integer range", "Maintenance.AlertCleanupDays", "-1", "Maintenance.AlertCleanupDays"},
			{"read-only", "General.PublicURL", "https://elsewhere.example.com", "General.PublicURL"},
			{"URL", "General.ShortURL", "not a url", "General.ShortURL"},
			{"URL list", "Webhook.AllowedURLs", "https://ok.example.com\nftp://no", "Webhook.AllowedURLs"},
			{"domain", "Mailgun.EmailDomain", "alerts@example.com", "Mailgun.EmailDomain"},
			{"enabled without what it needs", "Mailgun.Enable", "true", "Mailgun.Enable"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				in := map[string]string{tc.id: tc.value}
				for k, v := range good {
					in[k] = v
				}
				_, err := h.SetConfig(ctx, in, seal)
				var de *domain.Error
				if !errors.As(err, &de) || de.Kind != domain.KindInvalid || de.Field != tc.wantField {
					t.Fatalf("SetConfig(%s=%q): got %v, want an invalid-input error on field %s", tc.id, tc.value, err, tc.wantField)
				}
				if got := readConfig(t, h, open).String("General.ApplicationName"); got != "" {
					t.Errorf("General.ApplicationName after a refused change: got %q, want it unset", got)
				}
				if n := countConfigEvents(t, h); n != 0 {
					t.Errorf("config events after a refused change: got %d, want 0", n)
				}
			})
		}
	})

	t.Run("secrets are encrypted in the log and the table", func(t *testing.T) {
		h := newHandler(t)
		const secret = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
		_, err := h.SetConfig(ctx, map[string]string{
			"Mailgun.Enable": "true", "Mailgun.APIKey": secret, "Mailgun.EmailDomain": "alerts.example.com",
		}, seal)
		if err != nil {
			t.Fatalf("SetConfig: %v", err)
		}
		for _, q := range []string{
			`SELECT payload::text || metadata::text FROM events`,
			`SELECT id || ' ' || value FROM config_values`,
		} {
			rows, err := h.Pool().Query(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var all []string
			for rows.Next() {
				var s string
				if err := rows.Scan(&s); err != nil {
					t.Fatal(err)
				}
				all = append(all, s)
			}
			rows.Close()
			if len(all) == 0 {
				t.Fatalf("%s: no rows", q)
			}
			if joined := strings.Join(all, "\n"); strings.Contains(joined, secret) || strings.Contains(joined, "3ax6xnjp29jd6fds4gc373sgvjxteol0") {
				t.Errorf("%s: the secret appears in the clear:\n%s", q, joined)
			}
		}
		var encrypted bool
		if err := h.Pool().QueryRow(ctx, `SELECT (payload->>'encrypted')::boolean FROM events
			WHERE event_name = 'config.value_set' AND payload->>'id' = 'Mailgun.APIKey'`).Scan(&encrypted); err != nil || !encrypted {
			t.Errorf("Mailgun.APIKey event: encrypted %v (%v), want true", encrypted, err)
		}
		if got := readConfig(t, h, open).String("Mailgun.APIKey"); got != secret {
			t.Errorf("Mailgun.APIKey read back: got %q, want the secret", got)
		}

		// The mask leaves the secret as it is.
		res, err := h.SetConfig(ctx, map[string]string{"Mailgun.APIKey": config.Mask}, seal)
		if err != nil || res.Wrote() {
			t.Errorf("setting the mask: got wrote=%v, %v; want nothing written", res.Wrote(), err)
		}
		if got := readConfig(t, h, open).String("Mailgun.APIKey"); got != secret {
			t.Errorf("Mailgun.APIKey after setting the mask: got %q, want the secret unchanged", got)
		}

		// Mailgun may not stay enabled without its key; disabled, the
		// key can be cleared.
		if _, err := h.SetConfig(ctx, map[string]string{"Mailgun.APIKey": ""}, seal); domain.KindOf(err) != domain.KindInvalid {
			t.Errorf("clearing the key of enabled Mailgun: got %v, want an invalid-input error", err)
		}
		if _, err := h.SetConfig(ctx, map[string]string{"Mailgun.APIKey": "", "Mailgun.Enable": "false"}, seal); err != nil {
			t.Fatalf("disabling Mailgun and clearing its key: %v", err)
		}
		if got := readConfig(t, h, open).String("Mailgun.APIKey"); got != "" {
			t.Errorf("Mailgun.APIKey after clearing: got %q, want empty", got)
		}
	})

	t.Run("a failing seal stores nothing", func(t *testing.T) {
		h := newHandler(t)
		broken := func(string) (string, error) { return "", keyring.ErrNoKey }
		_, err := h.SetConfig(ctx, map[string]string{"SMTP.Password": "hunter2", "SMTP.Username": "ann"}, broken)
		if !errors.Is(err, keyring.ErrNoKey) {
			t.Fatalf("SetConfig with a failing seal: got %v, want the seal's error", err)
		}
		if n := countConfigEvents(t, h); n != 0 {
			t.Errorf("config events: got %d, want 0", n)
		}
	})

	t.Run("concurrent writers leave the table at the log's last value", func(t *testing.T) {
		h := newHandler(t)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				if _, err := h.SetConfig(ctx, map[string]string{"General.ApplicationName": fmt.Sprint("writer ", i)}, seal); err != nil {
					t.Errorf("writer %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		var last string
		if err := h.Pool().QueryRow(ctx, `SELECT payload->>'value' FROM events WHERE event_name = 'config.value_set'
			ORDER BY transaction_id DESC, global_position DESC LIMIT 1`).Scan(&last); err != nil {
			t.Fatal(err)
		}
		if got := readConfig(t, h, open).String("General.ApplicationName"); got != last {
			t.Errorf("config_values: got %q, want the log's last value %q", got, last)
		}
	})
}
