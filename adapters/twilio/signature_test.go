package twilio_test

import (
	"net/url"
	"testing"

	"github.com/oncallhq/goalert/adapters/twilio"
)

func TestSign(t *testing.T) {
	// Twilio's documented example of request validation.
	const (
		token = "12345"
		u     = "https://mycompany.com/myapp.php?foo=1&bar=2"
		want  = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
	)
	form := url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Caller":  {"+12349013030"},
		"Digits":  {"1234"},
		"From":    {"+12349013030"},
		"To":      {"+18005551212"},
	}
	if got := twilio.Sign(token, u, form); got != want {
		t.Errorf("Sign(documented example): got %q, want %q", got, want)
	}

	changed := []struct {
		name  string
		token string
		url   string
		form  url.Values
	}{
		{"other token", "54321", u, form},
		{"other URL", token, "https://mycompany.com/myapp.php?foo=1&bar=3", form},
		{"other value", token, u, with(form, "Digits", "1235")},
		{"extra parameter", token, u, with(form, "Body", "")},
	}
	for _, tc := range changed {
		if got := twilio.Sign(tc.token, tc.url, tc.form); got == want {
			t.Errorf("Sign(%s): got the example's signature %q, want another", tc.name, got)
		}
	}
}

func TestSign_repeatedParameter(t *testing.T) {
	a := twilio.Sign("k", "https://x.example/cb", url.Values{"E": {"b", "a"}})
	b := twilio.Sign("k", "https://x.example/cb", url.Values{"E": {"a", "b"}})
	if a != b {
		t.Errorf("Sign of a repeated parameter depends on value order: got %q and %q", a, b)
	}
}

func with(form url.Values, name, value string) url.Values {
	out := url.Values{}
	for k, v := range form {
		out[k] = append([]string(nil), v...)
	}
	out.Set(name, value)
	return out
}
