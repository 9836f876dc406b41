package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Headers of Slack's request signing.
const (
	HeaderSignature = "X-Slack-Signature"
	HeaderTimestamp = "X-Slack-Request-Timestamp"
)

// MaxRequestAge is how far a request's timestamp may be from now, either
// way, before the request is refused as a possible replay.
const MaxRequestAge = 5 * time.Minute

// Reasons a request's signature does not verify.
var (
	errNoSigningSecret    = errors.New("no Slack signing secret is configured")
	errMissingSignature   = errors.New("missing Slack signature or timestamp")
	errBadTimestamp       = errors.New("malformed Slack request timestamp")
	errStaleTimestamp     = errors.New("request timestamp is too far from now")
	errSignatureMismatch  = errors.New("signature does not match")
	errUnsupportedVersion = errors.New("unsupported signature version")
)

// Signature is Slack's v0 signature of a request body sent with the
// timestamp header value timestamp: "v0=" and the hex HMAC-SHA256, keyed
// by the signing secret, of "v0:<timestamp>:<body>".
func Signature(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + timestamp + ":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature checks a request Slack signed: signature and timestamp
// are its X-Slack-Signature and X-Slack-Request-Timestamp headers, body
// the raw body. It returns an error when no secret is configured, either
// header is missing or malformed, the timestamp is more than MaxRequestAge
// away from now, or the signature does not match.
func VerifySignature(secret string, now time.Time, timestamp, signature string, body []byte) error {
	if secret == "" {
		return errNoSigningSecret
	}
	if timestamp == "" || signature == "" {
		return errMissingSignature
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errBadTimestamp
	}
	if d := now.Sub(time.Unix(sec, 0)); d > MaxRequestAge || d < -MaxRequestAge {
		return errStaleTimestamp
	}
	if !strings.HasPrefix(signature, "v0=") {
		return errUnsupportedVersion
	}
	if !hmac.Equal([]byte(signature), []byte(Signature(secret, timestamp, body))) {
		return errSignatureMismatch
	}
	return nil
}
