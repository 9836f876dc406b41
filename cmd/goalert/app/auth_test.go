package app_test

// Black-box tests of sign-in, sessions and sign-out (COMPAT §6) through the
// real HTTP server.

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oncallhq/goalert/cmd/goalert/app/apptest"
	"github.com/oncallhq/goalert/domain/user"
)

func TestSignIn(t *testing.T) {
	t.Parallel()
	h := apptest.New(t)
	annID := createUser(t, h, "Ann Admin", "ann", user.RoleAdmin)
	login := h.URL + "/api/v2/identity/providers/basic"
	creds := url.Values{"username": {"ann"}, "password": {testPassword}}

	// whoami returns the name GraphQL reports for a session, or the
	// HTTP status when the request is refused.
	whoami := func(t *testing.T, auth func(*http.Request)) (int, string) {
		t.Helper()
		status, r := gqlRaw(t, h, auth, `{ user { id name } }`, nil)
		if status != http.StatusOK {
			return status, ""
		}
		var out struct{ User struct{ ID, Name string } }
		decodeGQL(t, "whoami", r.Data, r.Errors, &out)
		if out.User.ID != annID {
			t.Errorf("user: got id %s, want Ann's %s", out.User.ID, annID)
		}
		return status, out.User.Name
	}
	sessionsStarted := func(t *testing.T) int {
		t.Helper()
		return countEvents(t, h, "auth.session_started", map[string]any{"user_id": annID, "provider": "basic"})
	}

	t.Run("providers", func(t *testing.T) {
		code, body := get(t, h.URL+"/api/v2/identity/providers")
		if code != http.StatusOK {
			t.Fatalf("providers: got %d %q, want 200", code, body)
		}
		var list []struct {
			ID     string
			URL    string
			Fields []struct {
				ID       string
				Password bool
			}
		}
		if err := json.Unmarshal([]byte(body), &list); err != nil {
			t.Fatalf("providers: %q is not a JSON list: %v", body, err)
		}
		var basic *int
		for i, p := range list {
			if p.ID == "basic" {
				basic = &i
			}
		}
		if basic == nil {
			t.Fatalf("providers: got %s, want one with ID basic", body)
		}
		p := list[*basic]
		if p.URL != "/api/v2/identity/providers/basic" || len(p.Fields) != 2 ||
			p.Fields[0].ID != "username" || p.Fields[0].Password || p.Fields[1].ID != "password" || !p.Fields[1].Password {
			t.Errorf("basic provider: got %+v, want URL /api/v2/identity/providers/basic and fields username, password (secret)", p)
		}
	})

	t.Run("Referer is required", func(t *testing.T) {
		before := sessionsStarted(t)
		for name, headers := range map[string][]string{
			"no Referer":         nil,
			"another site":       {"Referer", "https://evil.example/" + strings.TrimPrefix(h.URL, "http://")},
			"another scheme":     {"Referer", strings.Replace(h.URL, "http://", "https://", 1) + "/"},
			"a look-alike host":  {"Referer", h.URL + ".evil.example/"},
			"a malformed header": {"Referer", "::not a url"},
		} {
			r := postForm(t, loginURL(h), creds, headers...)
			if r.Status != http.StatusBadRequest {
				t.Errorf("%s: got %s, want 400", name, r)
			}
			if c := r.cookie("goalert_session.2"); c != nil {
				t.Errorf("%s: got a session cookie, want none", name)
			}
			if strings.Count(r.Body, ".") == 2 && !strings.Contains(r.Body, " ") {
				t.Errorf("%s: body %q looks like a token", name, r.Body)
			}
		}
		if after := sessionsStarted(t); after != before {
			t.Errorf("sessions started by refused sign-ins: got %d, want 0", after-before)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		failed := countEvents(t, h, "auth.sign_in_failed", map[string]any{"username": "ann"})
		bad := url.Values{"username": {"ann"}, "password": {"not the password"}}
		r := postForm(t, loginURL(h), bad, "Referer", h.URL+"/")
		if r.Status != http.StatusUnauthorized || r.cookie("goalert_session.2") != nil {
			t.Errorf("wrong password with noRedirect: got %s (cookie %v), want 401 and no cookie", r, r.cookie("goalert_session.2"))
		}
		wrongPasswordBody := r.Body
		// Without noRedirect, the browser goes back with the error.
		r = postForm(t, login, bad, "Referer", h.URL+"/alerts?tab=mine")
		if r.Status != http.StatusFound {
			t.Fatalf("wrong password without noRedirect: got %s, want 302", r)
		}
		loc, err := url.Parse(r.Header.Get("Location"))
		if err != nil || loc.Query().Get("login_error") == "" || loc.Path != "/alerts" || loc.Query().Get("tab") != "mine" {
			t.Errorf("wrong password redirect: got Location %q, want back to /alerts?tab=mine with login_error", r.Header.Get("Location"))
		}
		if r.cookie("goalert_session.2") != nil {
			t.Errorf("wrong password redirect: got a session cookie, want none")
		}
		// An unknown user answers the same way.
		r = postForm(t, loginURL(h), url.Values{"username": {"nobody"}, "password": {testPassword}}, "Referer", h.URL+"/")
		if r.Status != http.StatusUnauthorized {
			t.Errorf("unknown user: got %s, want 401", r)
		}
		if r.Body != wrongPasswordBody {
			t.Errorf("unknown user: got body %q, want the same as for a wrong password (%q), not telling which was wrong", r.Body, wrongPasswordBody)
		}
		if got := countEvents(t, h, "auth.sign_in_failed", map[string]any{"username": "ann", "provider": "basic"}) - failed; got != 2 {
			t.Errorf("auth.sign_in_failed events for ann: got %d new, want 2", got)
		}
		if got := countEvents(t, h, "auth.sign_in_failed", map[string]any{"username": "nobody"}); got != 1 {
			t.Errorf("auth.sign_in_failed events for nobody: got %d, want 1", got)
		}
		r = postForm(t, loginURL(h), url.Values{"username": {"ann"}}, "Referer", h.URL+"/")
		if r.Status != http.StatusUnauthorized {
			t.Errorf("no password: got %s, want 401", r)
		}
	})

	t.Run("cookie session", func(t *testing.T) {
		before := sessionsStarted(t)
		r := postForm(t, login, creds, "Referer", h.URL+"/")
		if r.Status != http.StatusFound || r.Header.Get("Location") != h.URL+"/" {
			t.Errorf("sign in without noRedirect: got %s Location %q, want 302 back to %s/", r, r.Header.Get("Location"), h.URL)
		}
		c := r.cookie("goalert_session.2")
		if c == nil || c.Value == "" {
			t.Fatalf("sign in: got cookies %v, want goalert_session.2", r.Cookies)
		}
		if !c.HttpOnly || c.Path != "/" || c.MaxAge < 29*24*3600 {
			t.Errorf("session cookie: got HttpOnly %v Path %q MaxAge %d, want HttpOnly, Path /, about 30 days", c.HttpOnly, c.Path, c.MaxAge)
		}
		if status, name := whoami(t, withCookie(c.Value)); status != http.StatusOK || name != "Ann Admin" {
			t.Errorf("GraphQL with the cookie: got %d %q, want 200 as Ann Admin", status, name)
		}
		if got := sessionsStarted(t) - before; got != 1 {
			t.Errorf("auth.session_started events: got %d new, want 1", got)
		}
	})

	t.Run("Referer variants under the public URL", func(t *testing.T) {
		for _, ref := range []string{h.URL, h.URL + "/", h.URL + "/alerts/42", h.URL + "/services?search=x"} {
			r := postForm(t, loginURL(h), creds, "Referer", ref)
			if r.Status != http.StatusOK {
				t.Errorf("Referer %q: got %s, want 200", ref, r)
				continue
			}
			if status, _ := whoami(t, bearer(strings.TrimSpace(r.Body))); status != http.StatusOK {
				t.Errorf("token from Referer %q: got %d, want 200", ref, status)
			}
		}
	})

	token := signIn(t, h, "ann", testPassword)

	t.Run("tampered tokens are 401", func(t *testing.T) {
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			t.Fatalf("token %q is not a JWT", token)
		}
		sig := []byte(parts[2])
		i := len(sig) / 2
		if sig[i] == 'A' {
			sig[i] = 'B'
		} else {
			sig[i] = 'A'
		}
		forged := parts[0] + "." + parts[1] + "." + string(sig)

		enc := base64.RawURLEncoding.EncodeToString
		claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
		none := enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
		hs256 := enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + parts[1] + "." + enc([]byte("not a signature"))
		// Same signature, claims changed to another user: the signature no
		// longer matches.
		var c map[string]any
		if err := json.Unmarshal(claims, &c); err != nil {
			t.Fatalf("claims %s: %v", claims, err)
		}
		c["sub"] = "00000000-0000-0000-0000-000000000001"
		otherClaims, _ := json.Marshal(c)
		swapped := parts[0] + "." + enc(otherClaims) + "." + parts[2]

		for name, tok := range map[string]string{
			"flipped signature character": forged,
			"alg none":                    none,
			"alg HS256":                   hs256,
			"claims swapped":              swapped,
			"truncated":                   token[:len(token)-10],
			"not a JWT":                   "hello",
		} {
			if status, _ := whoami(t, bearer(tok)); status != http.StatusUnauthorized {
				t.Errorf("%s token: got %d, want 401", name, status)
			}
			if status, _ := whoami(t, withCookie(tok)); status != http.StatusUnauthorized {
				t.Errorf("%s token as cookie: got %d, want 401", name, status)
			}
		}
		if status, name := whoami(t, bearer(token)); status != http.StatusOK || name != "Ann Admin" {
			t.Errorf("the genuine token: got %d %q, want 200 as Ann Admin", status, name)
		}
	})

	t.Run("logout ends the session", func(t *testing.T) {
		tok := signIn(t, h, "ann", testPassword)
		if status, _ := whoami(t, bearer(tok)); status != http.StatusOK {
			t.Fatalf("before logout: got %d, want 200", status)
		}
		req := newRequest(t, http.MethodPost, h.URL+"/api/v2/identity/logout", nil, "Authorization", "Bearer "+tok)
		r := send(t, req)
		if r.Status != http.StatusNoContent && r.Status != http.StatusOK && r.Status != http.StatusFound {
			t.Errorf("logout: got %s, want success", r)
		}
		if c := r.cookie("goalert_session.2"); c == nil || c.MaxAge >= 0 {
			t.Errorf("logout: got cookie %v, want goalert_session.2 cleared", c)
		}
		if status, _ := whoami(t, bearer(tok)); status != http.StatusUnauthorized {
			t.Errorf("the token after logout: got %d, want 401", status)
		}
		if status, _ := whoami(t, withCookie(tok)); status != http.StatusUnauthorized {
			t.Errorf("the cookie after logout: got %d, want 401", status)
		}
		if status, _ := whoami(t, bearer(token)); status != http.StatusOK {
			t.Errorf("another session of the same user after logout: got %d, want 200", status)
		}
		if n := countEvents(t, h, "auth.session_ended", map[string]any{"user_id": annID}); n != 1 {
			t.Errorf("auth.session_ended events: got %d, want 1", n)
		}
		// Logging out twice, or without a session, is harmless.
		if r := send(t, newRequest(t, http.MethodPost, h.URL+"/api/v2/identity/logout", nil, "Authorization", "Bearer "+tok)); r.Status >= 400 {
			t.Errorf("second logout: got %s, want success", r)
		}
	})

	t.Run("expired token", func(t *testing.T) {
		// Run last: it moves the clock every later request sees.
		h.Clock.Advance(29 * 24 * time.Hour)
		if status, _ := whoami(t, bearer(token)); status != http.StatusOK {
			t.Fatalf("token after 29 days: got %d, want 200", status)
		}
		h.Clock.Advance(24*time.Hour + time.Minute)
		status, r := gqlRaw(t, h, bearer(token), `{ user { id } }`, nil)
		if status != http.StatusUnauthorized {
			t.Errorf("token after 30 days and a minute: got %d %+v, want 401", status, r)
		}
		req := newRequest(t, http.MethodPost, h.URL+"/api/graphql", strings.NewReader(`{"query":"{ user { id } }"}`),
			"Content-Type", "application/json", "Authorization", "Bearer "+token)
		if r := send(t, req); !strings.Contains(r.Body, "expired") {
			t.Errorf("expired token: got body %q, want it to say the session expired", r.Body)
		}
		// A new sign-in works at the new time.
		if status, _ := whoami(t, bearer(signIn(t, h, "ann", testPassword))); status != http.StatusOK {
			t.Errorf("a fresh token after the old one expired: got %d, want 200", status)
		}
	})

	if got := countEvents(t, h, "auth.session_started", map[string]any{"user_id": annID}); got < 8 {
		t.Errorf("auth.session_started events for Ann: got %d, want one per successful sign-in (at least 8)", got)
	}
}
