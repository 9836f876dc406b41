package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
)

// SignatureHeader carries Twilio's signature of a request.
const SignatureHeader = "X-Twilio-Signature"

// Sign returns Twilio's signature of a request to url with the POST
// parameters form: the base64 HMAC-SHA1, keyed by authToken, of url followed
// by every parameter's name and value, in order of name (and of value, for
// a repeated name). url is the full URL Twilio requested, query included.
func Sign(authToken, url string, form url.Values) string {
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(url))
	names := make([]string, 0, len(form))
	for name := range form {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		values := append([]string(nil), form[name]...)
		sort.Strings(values)
		for _, v := range values {
			mac.Write([]byte(name))
			mac.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// validSignature reports whether signature is Sign(authToken, url, form).
// Without an auth token nothing is valid.
func validSignature(authToken, url string, form url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	want := Sign(authToken, url, form)
	return hmac.Equal([]byte(strings.TrimSpace(signature)), []byte(want))
}
