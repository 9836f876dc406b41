package events

import (
	"bytes"
	"encoding/json"
)

// Masked is what Redact shows instead of a secret value.
const Masked = "********"

// secretFields are payload keys whose values are never shown to people,
// at any depth. Secrets that leave the process encrypted (a signing key)
// are not listed: their ciphertext is useless without the data encryption
// key. A password hash is not encrypted, and a leaked bcrypt hash can be
// attacked offline.
var secretFields = map[string]bool{
	"password_hash": true,
	// A verification code has a million values: its hash is as good as
	// the code while it is valid.
	"code_hash": true,
}

// Redact returns payload as compact JSON with the values of secret fields
// replaced by Masked, for audit views (GraphQL, CLI). A payload with no
// secret field keeps its key order. A payload that is not valid JSON cannot
// be checked field by field, so it is shown whole as the JSON string
// Masked.
func Redact(payload []byte) string {
	var compact bytes.Buffer
	if err := json.Compact(&compact, payload); err != nil {
		b, _ := json.Marshal(Masked)
		return string(b)
	}
	if !mayHoldSecret(compact.Bytes()) {
		return compact.String()
	}
	dec := json.NewDecoder(bytes.NewReader(compact.Bytes()))
	dec.UseNumber() // keep numbers exactly as stored
	var v any
	if err := dec.Decode(&v); err != nil {
		b, _ := json.Marshal(Masked)
		return string(b)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(mask(v)); err != nil {
		b, _ := json.Marshal(Masked)
		return string(b)
	}
	return string(bytes.TrimSuffix(out.Bytes(), []byte("\n")))
}

// mayHoldSecret is a cheap pre-check: re-encoding reorders keys, so
// payloads without a secret key are passed through untouched. A \u escape
// could spell a key in a way the byte search misses, so it forces the
// full check.
func mayHoldSecret(b []byte) bool {
	if bytes.Contains(b, []byte(`\u`)) {
		return true
	}
	for k := range secretFields {
		if bytes.Contains(b, []byte(`"`+k+`"`)) {
			return true
		}
	}
	return false
}

func mask(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if secretFields[k] {
				v[k] = Masked
			} else {
				v[k] = mask(x)
			}
		}
	case []any:
		for i, x := range v {
			v[i] = mask(x)
		}
	}
	return v
}
