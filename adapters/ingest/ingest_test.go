package ingest

import (
	"errors"
	"net/url"
	"testing"
)

// parseErrMsg returns the message of err, "" for nil, and fails t when err
// is not a *ParseError.
func parseErrMsg(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v is a %T, want *ParseError", err, err)
	}
	return pe.Msg
}

// query parses a raw query string for a test table, failing t on error.
func query(t *testing.T, raw string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatalf("bad test query %q: %v", raw, err)
	}
	return v
}

func TestFoldSummary(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"  padded\t", "padded"},
		{"a\nb", "a b"},
		{"a\r\nb", "a b"},
		{"a\rb", "a b"},
		{"a\n\nb", "a  b"},
		{"\r\nlead and trail\n", "lead and trail"},
		{"mixed\r\n\r\rend", "mixed   end"},
	}
	for _, tt := range tests {
		if got := foldSummary(tt.in); got != tt.want {
			t.Errorf("foldSummary(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMediaType(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"application/json", "application/json"},
		{"application/json; charset=utf-8", "application/json"},
		{"Application/JSON;Charset=UTF-8", "application/json"},
		{"application/json; charset", "application/json"},
		{"application/x-www-form-urlencoded", "application/x-www-form-urlencoded"},
		{"multipart/form-data; boundary=xyz", "multipart/form-data"},
	}
	for _, tt := range tests {
		if got := mediaType(tt.in); got != tt.want {
			t.Errorf("mediaType(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestActionValid(t *testing.T) {
	for _, a := range []Action{ActionTrigger, ActionClose, ActionAcknowledge} {
		if !a.Valid() {
			t.Errorf("Action(%q).Valid() = false, want true", a)
		}
	}
	for _, a := range []Action{"", "resolve", "Trigger", "ack"} {
		if a.Valid() {
			t.Errorf("Action(%q).Valid() = true, want false", a)
		}
	}
}
