package events

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"no secret keeps the stored order", `{"user_id": "u1", "name": "Ann"}`, `{"user_id":"u1","name":"Ann"}`},
		{"password hash", `{"user_id":"u1","username":"ann","password_hash":"$2a$10$abc"}`,
			`{"password_hash":"********","user_id":"u1","username":"ann"}`},
		{"nested and in arrays", `{"a":{"password_hash":"x"},"b":[{"password_hash":"y","n":1.50}]}`,
			`{"a":{"password_hash":"********"},"b":[{"n":1.50,"password_hash":"********"}]}`},
		{"escaped key", `{"password\u005fhash":"x"}`, `{"password_hash":"********"}`},
		{"a value that merely mentions the key", `{"summary":"reset password_hash"}`, `{"summary":"reset password_hash"}`},
		{"not JSON", `{"password_hash":`, `"********"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Redact([]byte(tc.in))
			if got != tc.want {
				t.Errorf("Redact(%s) = %s, want %s", tc.in, got, tc.want)
			}
			if strings.Contains(got, "$2a$") {
				t.Errorf("Redact(%s) leaks the hash: %s", tc.in, got)
			}
		})
	}
}
