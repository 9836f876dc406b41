package app_test

// Black-box tests of the admin config (COMPAT §6) through GraphQL and
// /api/v2/config: who may read and change it, how secrets are kept, and
// how fast another instance sees a change.

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oncallhq/goalert/cmd/goalert/app"
	"github.com/oncallhq/goalert/cmd/goalert/app/apptest"
	"github.com/oncallhq/goalert/domain/user"
)

// withEncryptionKey starts the server with a data encryption key, as
// production runs.
func withEncryptionKey(c *app.Config) { c.DataEncryptionKey = "app test data encryption key" }

const setConfigMutation = `mutation($in: [ConfigValueInput!]) { setConfig(input: $in) }`

// configInput builds setConfig's input from id, value pairs.
func configInput(pairs ...string) map[string]any {
	var in []map[string]string
	for i := 0; i+1 < len(pairs); i += 2 {
		in = append(in, map[string]string{"id": pairs[i], "value": pairs[i+1]})
	}
	return map[string]any{"in": in}
}

// setConfig sets values as the holder of token and fails the test on any
// error.
func setConfig(t testing.TB, h *apptest.Harness, token string, pairs ...string) {
	t.Helper()
	var out struct{ SetConfig bool }
	mustGQL(t, h, token, setConfigMutation, configInput(pairs...), &out)
	if !out.SetConfig {
		t.Fatalf("setConfig %q: got false, want true", pairs)
	}
}

type configEntry struct {
	ID, Description, Value, Type string
	Password                     bool
}

// readConfig returns config (all when all) as the holder of token, by id.
func readConfig(t testing.TB, h *apptest.Harness, token string, all bool) map[string]configEntry {
	t.Helper()
	var out struct{ Config []configEntry }
	mustGQL(t, h, token, `query($all: Boolean) { config(all: $all) { id description value type password } }`, map[string]any{"all": all}, &out)
	m := map[string]configEntry{}
	for _, c := range out.Config {
		m[c.ID] = c
	}
	return m
}

// assertNotStoredInClear fails when secret appears anywhere in the event
// log or in config_values.
func assertNotStoredInClear(t testing.TB, h *apptest.Harness, secret string) {
	t.Helper()
	var n int
	err := h.Pool.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM events WHERE strpos(payload::text || metadata::text, $1) > 0) +
		(SELECT count(*) FROM config_values WHERE strpos(value, $1) > 0)`, secret).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("the secret is stored in the clear in %d rows", n)
	}
}

func TestConfig_GraphQL(t *testing.T) {
	t.Parallel()
	h := apptest.New(t, withEncryptionKey)
	admin := newAccount(t, h, "Admin Ann", "ann", user.RoleAdmin)
	bob := newAccount(t, h, "Bob", "bob", user.RoleUser)
	const secret = "key-0f1e2d3c4b5a69788796a5b4c3d2e1f0"

	setConfig(t, h, admin.Token,
		"General.ApplicationName", "Pager",
		"GitHub.AllowedUsers", "ann\nbob",
		"Mailgun.APIKey", secret,
		"Mailgun.EmailDomain", "alerts.example.com",
		"Mailgun.Enable", "true",
	)

	t.Run("admins see every value, secrets masked", func(t *testing.T) {
		cfg := readConfig(t, h, admin.Token, true)
		want := map[string]configEntry{
			"General.ApplicationName":      {Value: "Pager", Type: "string"},
			"GitHub.AllowedUsers":          {Value: "ann\nbob", Type: "stringList"},
			"Mailgun.Enable":               {Value: "true", Type: "boolean"},
			"Mailgun.APIKey":               {Value: "********", Type: "string", Password: true},
			"Mailgun.EmailDomain":          {Value: "alerts.example.com", Type: "string"},
			"SMTP.Password":                {Value: "", Type: "string", Password: true},
			"Maintenance.AlertCleanupDays": {Value: "0", Type: "integer"},
			"General.PublicURL":            {Value: "", Type: "string"},
		}
		for id, w := range want {
			got, ok := cfg[id]
			if !ok {
				t.Errorf("%s: missing from config(all: true)", id)
				continue
			}
			if got.Value != w.Value || got.Type != w.Type || got.Password != w.Password {
				t.Errorf("%s: got value %q type %s password %v, want %q %s %v", id, got.Value, got.Type, got.Password, w.Value, w.Type, w.Password)
			}
			if got.Description == "" {
				t.Errorf("%s: no description", id)
			}
		}
		for _, id := range []string{"Twilio.AuthToken", "Slack.SigningSecret", "OIDC.ClientSecret", "Webhook.AllowedURLs", "Auth.DisableBasic"} {
			if _, ok := cfg[id]; !ok {
				t.Errorf("%s: missing from config(all: true)", id)
			}
		}
	})

	t.Run("the secret is nowhere in replies or storage", func(t *testing.T) {
		_, body := gqlRaw(t, h, bearer(admin.Token), `{ config(all: true) { id value } }`, nil)
		if b, _ := json.Marshal(body); strings.Contains(string(b), secret) {
			t.Errorf("config(all: true) reply holds the secret")
		}
		assertNotStoredInClear(t, h, secret)
		if got := h.AdminConfig().String("Mailgun.APIKey"); got != secret {
			t.Errorf("the server's own view of Mailgun.APIKey: got %q, want the secret", got)
		}
	})

	t.Run("users see the public values only", func(t *testing.T) {
		cfg := readConfig(t, h, bob.Token, false)
		if cfg["General.ApplicationName"].Value != "Pager" || cfg["Mailgun.Enable"].Value != "true" {
			t.Errorf("public values: got %+v and %+v, want Pager and true", cfg["General.ApplicationName"], cfg["Mailgun.Enable"])
		}
		for _, id := range []string{"Mailgun.APIKey", "Mailgun.EmailDomain", "SMTP.Password", "GitHub.AllowedUsers"} {
			if _, ok := cfg[id]; ok {
				t.Errorf("config as a plain user: got %s, want only public values", id)
			}
		}
		_, errs := gql(t, h, bob.Token, `{ config(all: true) { id } }`, nil)
		wantGQLError(t, "config(all: true) as a plain user", errs, "FORBIDDEN")
	})

	t.Run("plain users may not set config", func(t *testing.T) {
		_, errs := gql(t, h, bob.Token, setConfigMutation, configInput("General.ApplicationName", "Bob's pager"))
		wantGQLError(t, "setConfig as a plain user", errs, "FORBIDDEN")
		if got := readConfig(t, h, admin.Token, true)["General.ApplicationName"].Value; got != "Pager" {
			t.Errorf("General.ApplicationName after a refused change: got %q, want Pager", got)
		}
	})

	t.Run("a bad value changes nothing", func(t *testing.T) {
		for _, tc := range []struct{ id, value string }{
			{"Maintenance.AlertCleanupDays", "soon"},
			{"No.Such", "x"},
			{"General.PublicURL", "https://elsewhere.example.com"},
			{"Mailgun.APIKey", ""}, // Mailgun is enabled and needs it
		} {
			_, errs := gql(t, h, admin.Token, setConfigMutation, configInput("General.ApplicationName", "Changed", tc.id, tc.value))
			e := wantGQLError(t, "setConfig "+tc.id+"="+tc.value, errs, "INVALID_INPUT_VALUE")
			if !strings.Contains(e.Message, strings.Split(tc.id, ".")[0]) {
				t.Errorf("setConfig %s=%q: message %q does not name the setting", tc.id, tc.value, e.Message)
			}
		}
		if got := readConfig(t, h, admin.Token, true)["General.ApplicationName"].Value; got != "Pager" {
			t.Errorf("General.ApplicationName after refused changes: got %q, want Pager", got)
		}
	})

	t.Run("the mask leaves a secret as it is", func(t *testing.T) {
		setConfig(t, h, admin.Token, "Mailgun.APIKey", "********", "General.ApplicationName", "Pager 2")
		if got := h.AdminConfig().String("Mailgun.APIKey"); got != secret {
			t.Errorf("Mailgun.APIKey after writing the mask: got %q, want it unchanged", got)
		}
		if got := h.AdminConfig().String("General.ApplicationName"); got != "Pager 2" {
			t.Errorf("General.ApplicationName: got %q, want Pager 2 at once on this instance", got)
		}
	})
}

func TestConfig_REST(t *testing.T) {
	t.Parallel()
	h := apptest.New(t, withEncryptionKey)
	admin := newAccount(t, h, "Admin Ann", "ann", user.RoleAdmin)
	bob := newAccount(t, h, "Bob", "bob", user.RoleUser)
	endpoint := h.URL + "/api/v2/config"
	const secret = "xoxb-1234-5678-abcdefghijkl"

	get := func(t *testing.T, auth func(*http.Request)) reply {
		t.Helper()
		req := newRequest(t, http.MethodGet, endpoint, nil)
		if auth != nil {
			auth(req)
		}
		return send(t, req)
	}
	put := func(t *testing.T, auth func(*http.Request), body string) reply {
		t.Helper()
		req := newRequest(t, http.MethodPut, endpoint, strings.NewReader(body), "Content-Type", "application/json")
		if auth != nil {
			auth(req)
		}
		return send(t, req)
	}
	type document map[string]map[string]any
	decode := func(t *testing.T, r reply) document {
		t.Helper()
		if r.Status != http.StatusOK {
			t.Fatalf("GET /api/v2/config: got %s, want 200", r)
		}
		var d document
		if err := json.Unmarshal([]byte(r.Body), &d); err != nil {
			t.Fatalf("GET /api/v2/config: body is not JSON sections: %v", err)
		}
		return d
	}

	t.Run("who may", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			auth func(*http.Request)
			want int
		}{
			{"no session", nil, http.StatusUnauthorized},
			{"plain user", bearer(bob.Token), http.StatusForbidden},
		} {
			if r := get(t, tc.auth); r.Status != tc.want {
				t.Errorf("GET as %s: got %s, want %d", tc.name, r, tc.want)
			}
			if r := put(t, tc.auth, `{"General": {"ApplicationName": "x"}}`); r.Status != tc.want {
				t.Errorf("PUT as %s: got %s, want %d", tc.name, r, tc.want)
			}
		}
		if got := h.AdminConfig().String("General.ApplicationName"); got != "" {
			t.Errorf("General.ApplicationName after refused PUTs: got %q, want unset", got)
		}
	})

	t.Run("partial PUT with typed values", func(t *testing.T) {
		r := put(t, bearer(admin.Token), `{
			"Maintenance": {"AlertCleanupDays": 30},
			"General": {"DisableSMSLinks": true, "ApplicationName": "Pager"},
			"Webhook": {"AllowedURLs": ["https://hooks.example.com/"]},
			"Slack": {"AccessToken": "`+secret+`"}
		}`)
		if r.Status != http.StatusNoContent {
			t.Fatalf("PUT: got %s, want 204", r)
		}
		d := decode(t, get(t, withCookie(admin.Token)))
		checks := []struct {
			section, name string
			want          any
		}{
			{"Maintenance", "AlertCleanupDays", float64(30)},
			{"General", "DisableSMSLinks", true},
			{"General", "ApplicationName", "Pager"},
			{"General", "DisableMessageBundles", false},
			{"Slack", "AccessToken", "********"},
			{"Slack", "SigningSecret", ""},
			{"Twilio", "Enable", false},
		}
		for _, c := range checks {
			if got := d[c.section][c.name]; got != c.want {
				t.Errorf("%s.%s: got %#v, want %#v", c.section, c.name, got, c.want)
			}
		}
		if got, _ := json.Marshal(d["Webhook"]["AllowedURLs"]); string(got) != `["https://hooks.example.com/"]` {
			t.Errorf("Webhook.AllowedURLs: got %s, want [\"https://hooks.example.com/\"]", got)
		}
		if got, _ := json.Marshal(d["GitHub"]["AllowedOrgs"]); string(got) != `[]` {
			t.Errorf("GitHub.AllowedOrgs unset: got %s, want []", got)
		}
		for _, s := range []string{"General", "Maintenance", "Auth", "GitHub", "OIDC", "Mailgun", "Slack", "Twilio", "SMTP", "Webhook"} {
			if d[s] == nil {
				t.Errorf("section %s missing", s)
			}
		}
		assertNotStoredInClear(t, h, secret)
	})

	t.Run("writing back what GET returned changes nothing", func(t *testing.T) {
		before := get(t, bearer(admin.Token))
		var n0 int
		if err := h.Pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE event_name = 'config.value_set'`).Scan(&n0); err != nil {
			t.Fatal(err)
		}
		if r := put(t, bearer(admin.Token), before.Body); r.Status != http.StatusNoContent {
			t.Fatalf("PUT of the GET document: got %s, want 204", r)
		}
		var n1 int
		if err := h.Pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE event_name = 'config.value_set'`).Scan(&n1); err != nil {
			t.Fatal(err)
		}
		if n1 != n0 {
			t.Errorf("config events: got %d new, want none", n1-n0)
		}
		if got := h.AdminConfig().String("Slack.AccessToken"); got != secret {
			t.Errorf("Slack.AccessToken: got %q, want it unchanged", got)
		}
	})

	t.Run("invalid values are 400 with a message", func(t *testing.T) {
		for _, tc := range []struct{ body, wantInMessage string }{
			{`{"Maintenance": {"AlertCleanupDays": "soon"}}`, "Maintenance.AlertCleanupDays"},
			{`{"Maintenance": {"AlertCleanupDays": true}}`, "Maintenance.AlertCleanupDays"},
			{`{"General": {"NoSuchSetting": 1}}`, "General.NoSuchSetting"},
			{`{"Twilio": {"Enable": true}}`, "Twilio.Enable"},
			{`{"General": "x"}`, "JSON object"},
			{`not json`, "JSON object"},
		} {
			r := put(t, bearer(admin.Token), tc.body)
			var body struct{ Error string }
			_ = json.Unmarshal([]byte(r.Body), &body)
			if r.Status != http.StatusBadRequest || !strings.Contains(body.Error, tc.wantInMessage) {
				t.Errorf("PUT %s: got %s, want 400 with a message about %s", tc.body, r, tc.wantInMessage)
			}
		}
		if got := h.AdminConfig().String("Twilio.Enable"); got != "false" {
			t.Errorf("Twilio.Enable after a refused PUT: got %q, want false", got)
		}
	})
}

// A change made through one instance reaches another on the same database
// within a second.
func TestConfig_SecondInstance(t *testing.T) {
	t.Parallel()
	h1 := apptest.New(t, withEncryptionKey)
	h2 := apptest.New(t, withEncryptionKey, apptest.APIOnly(), apptest.DBURL(h1.DBURL))
	admin := newAccount(t, h1, "Admin Ann", "ann", user.RoleAdmin)

	for _, name := range []string{"First name", "Second name"} {
		setConfig(t, h1, admin.Token, "General.ApplicationName", name)
		changed := time.Now()
		for {
			req := newRequest(t, http.MethodGet, h2.URL+"/api/v2/config", nil)
			bearer(admin.Token)(req)
			r := send(t, req)
			var d map[string]map[string]any
			if r.Status != http.StatusOK || json.Unmarshal([]byte(r.Body), &d) != nil {
				t.Fatalf("GET /api/v2/config on the second instance: got %s, want 200 with JSON", r)
			}
			if d["General"]["ApplicationName"] == name {
				break
			}
			if time.Since(changed) > time.Second {
				t.Fatalf("second instance still shows %v a second after the change to %q", d["General"]["ApplicationName"], name)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("%q reached the second instance after %v", name, time.Since(changed).Round(time.Millisecond))
	}
}

// After the data encryption key changes (the old one given as
// --data-encryption-key-old), reEncryptKeyringsAndConfig seals every
// secret with the new key, and the old key can then be dropped.
func TestConfig_reEncryptAfterKeyChange(t *testing.T) {
	h := apptest.New(t, withEncryptionKey)
	admin := newAccount(t, h, "Admin", "admin", user.RoleAdmin)
	setConfig(t, h, admin.Token, "Mailgun.Enable", "true", "Mailgun.APIKey", "key-before-rotation", "Mailgun.EmailDomain", "alerts.example.com")
	url := h.DBURL
	h.Stop()

	rotated := func(c *app.Config) {
		c.DataEncryptionKey, c.DataEncryptionKeyOld = "the new data encryption key", "app test data encryption key"
	}
	h2 := apptest.New(t, apptest.DBURL(url), rotated)
	token := signIn(t, h2, "admin", testPassword)
	var out struct{ ReEncryptKeyringsAndConfig bool }
	mustGQL(t, h2, token, `mutation { reEncryptKeyringsAndConfig }`, nil, &out)
	if !out.ReEncryptKeyringsAndConfig {
		t.Fatal("reEncryptKeyringsAndConfig returned false")
	}
	plain := newAccount(t, h2, "Plain", "plain", user.RoleUser)
	if _, errs := gql(t, h2, plain.Token, `mutation { reEncryptKeyringsAndConfig }`, nil); len(errs) == 0 {
		t.Error("a plain user re-encrypted the secrets")
	}
	h2.Stop()

	// The old key is gone: the server still starts, signs in, and the
	// secret is intact.
	h3 := apptest.New(t, apptest.DBURL(url), func(c *app.Config) { c.DataEncryptionKey = "the new data encryption key" })
	token = signIn(t, h3, "admin", testPassword)
	if token == "" {
		t.Fatal("no session after re-encryption")
	}
	if got := h3.ConfigValues().String("Mailgun.APIKey"); got != "key-before-rotation" {
		t.Errorf("Mailgun.APIKey after re-encryption: got %q", got)
	}
}
