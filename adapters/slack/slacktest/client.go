package slacktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// MessageActionPath is where the product serves Slack interactions; the
// click helpers post there when given a URL without a path.
const MessageActionPath = "/api/v2/slack/message-action"

// Click is one button click as Slack reports it in a block_actions
// payload.
type Click struct {
	TeamID   string
	UserID   string
	ActionID string
	// Value is the button's value: the alert id for Acknowledge and Close.
	Value       string
	ResponseURL string
	// ChannelID and MessageTS identify the clicked message; empty means
	// placeholders.
	ChannelID string
	MessageTS string
	// Time is when Slack signs the request; zero means now.
	Time time.Time
}

// Payload returns the block_actions JSON Slack would send for c.
func (c Click) Payload() string {
	channel, ts := c.ChannelID, c.MessageTS
	if channel == "" {
		channel = "CFAKECHAN"
	}
	if ts == "" {
		ts = "1700000000.000001"
	}
	p := map[string]any{
		"type":       "block_actions",
		"api_app_id": "AFAKEAPP",
		"token":      "verification-token-unused",
		"trigger_id": "1.2.fake",
		"user":       map[string]any{"id": c.UserID, "username": "someone", "name": "someone", "team_id": c.TeamID},
		"team":       map[string]any{"id": c.TeamID, "domain": "fake"},
		"channel":    map[string]any{"id": channel, "name": "alerts"},
		"container": map[string]any{
			"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false,
		},
		"message":      map[string]any{"type": "message", "ts": ts, "text": "alert"},
		"response_url": c.ResponseURL,
		"actions": []map[string]any{{
			"type": "button", "action_id": c.ActionID, "block_id": "alert_actions", "value": c.Value,
			"action_ts": ts,
		}},
	}
	b, _ := json.Marshal(p)
	return string(b)
}

// Sign returns Slack's v0 signature of body sent at timestamp under
// secret.
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + timestamp + ":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// ClickButton posts a correctly signed click on the button actionID of
// alert alertID to the product at ourURL (its origin, or the full
// endpoint URL), and returns the HTTP status it answered.
func ClickButton(t testing.TB, ourURL, signingSecret, teamID, userID, actionID string, alertID int64, responseURL string) int {
	t.Helper()
	return PostClick(t, ourURL, signingSecret, Click{
		TeamID: teamID, UserID: userID, ActionID: actionID,
		Value: strconv.FormatInt(alertID, 10), ResponseURL: responseURL,
	})
}

// ClickButtonBadSignature is ClickButton with a signature that does not
// match the request.
func ClickButtonBadSignature(t testing.TB, ourURL, signingSecret, teamID, userID, actionID string, alertID int64, responseURL string) int {
	t.Helper()
	c := Click{
		TeamID: teamID, UserID: userID, ActionID: actionID,
		Value: strconv.FormatInt(alertID, 10), ResponseURL: responseURL,
	}
	body := []byte(url.Values{"payload": {c.Payload()}}.Encode())
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sig := Sign(signingSecret, ts, body)
	// Flip the last hex digit: the same length and form, a wrong value.
	last := "0"
	if strings.HasSuffix(sig, "0") {
		last = "1"
	}
	return post(t, ourURL, body, ts, sig[:len(sig)-1]+last)
}

// PostClick posts c signed with signingSecret at c.Time and returns the
// HTTP status the product answered.
func PostClick(t testing.TB, ourURL, signingSecret string, c Click) int {
	t.Helper()
	at := c.Time
	if at.IsZero() {
		at = time.Now()
	}
	body := []byte(url.Values{"payload": {c.Payload()}}.Encode())
	ts := strconv.FormatInt(at.Unix(), 10)
	return post(t, ourURL, body, ts, Sign(signingSecret, ts, body))
}

func post(t testing.TB, ourURL string, body []byte, ts, sig string) int {
	t.Helper()
	u, err := url.Parse(ourURL)
	if err != nil {
		t.Fatalf("slacktest: bad URL %q: %v", ourURL, err)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = MessageActionPath
	}
	req, err := http.NewRequest(http.MethodPost, u.String(), strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("slacktest: build click request: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", sig)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("slacktest: post click: %v", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}
