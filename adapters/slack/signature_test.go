package slack

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/oncallhq/goalert/adapters/slack/slacktest"
)

// The worked example of Slack's "Verifying requests from Slack" guide.
func TestSignature_SlackExample(t *testing.T) {
	body := "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V" +
		"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=" +
		"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN" +
		"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	got := Signature("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", []byte(body))
	want := "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	if got != want {
		t.Errorf("Signature: got %s, want %s", got, want)
	}
	if fake := slacktest.Sign("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", []byte(body)); fake != want {
		t.Errorf("slacktest.Sign: got %s, want %s", fake, want)
	}
}

func TestVerifySignature(t *testing.T) {
	const secret = "s3cret"
	now := time.Unix(1_700_000_000, 0)
	body := []byte("payload=%7B%7D")
	at := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	sign := func(ts string) string { return Signature(secret, ts, body) }

	tests := []struct {
		name      string
		secret    string
		timestamp string
		signature string
		body      []byte
		want      error
	}{
		{name: "good", secret: secret, timestamp: at(0), signature: sign(at(0)), body: body},
		{name: "four minutes old", secret: secret, timestamp: at(-4 * time.Minute), signature: sign(at(-4 * time.Minute)), body: body},
		{name: "four minutes ahead", secret: secret, timestamp: at(4 * time.Minute), signature: sign(at(4 * time.Minute)), body: body},
		{name: "wrong secret", secret: "other", timestamp: at(0), signature: sign(at(0)), body: body, want: errSignatureMismatch},
		{name: "body changed", secret: secret, timestamp: at(0), signature: sign(at(0)), body: []byte("payload=%7B%7D%20"), want: errSignatureMismatch},
		{name: "timestamp changed", secret: secret, timestamp: at(time.Second), signature: sign(at(0)), body: body, want: errSignatureMismatch},
		{name: "stale timestamp", secret: secret, timestamp: at(-6 * time.Minute), signature: sign(at(-6 * time.Minute)), body: body, want: errStaleTimestamp},
		{name: "timestamp in the future", secret: secret, timestamp: at(6 * time.Minute), signature: sign(at(6 * time.Minute)), body: body, want: errStaleTimestamp},
		{name: "missing signature", secret: secret, timestamp: at(0), body: body, want: errMissingSignature},
		{name: "missing timestamp", secret: secret, signature: sign(at(0)), body: body, want: errMissingSignature},
		{name: "malformed timestamp", secret: secret, timestamp: "soon", signature: sign("soon"), body: body, want: errBadTimestamp},
		{name: "other version", secret: secret, timestamp: at(0), signature: "v1=" + sign(at(0))[3:], body: body, want: errUnsupportedVersion},
		{name: "no secret configured", timestamp: at(0), signature: Signature("", at(0), body), body: body, want: errNoSigningSecret},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifySignature(tc.secret, now, tc.timestamp, tc.signature, tc.body)
			if !errors.Is(err, tc.want) {
				t.Errorf("VerifySignature: got %v, want %v", err, tc.want)
			}
		})
	}
}
