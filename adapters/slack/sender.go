package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/oncallhq/goalert/domain/notification"
)

// DefaultTimeout bounds one call to Slack when NewSender is given no client.
const DefaultTimeout = 30 * time.Second

// maxAnswerBytes bounds how much of Slack's answer is read.
const maxAnswerBytes = 1 << 20

// Sender posts messages to Slack channels and direct messages.
type Sender struct {
	config func() Config
	client *http.Client
}

var _ notification.Sender = (*Sender)(nil)

// NewSender returns a Sender. config returns the configuration in force
// and is called on every send; client makes the calls (nil means a client
// with DefaultTimeout).
func NewSender(config func() Config, client *http.Client) *Sender {
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	return &Sender{config: config, client: client}
}

// RateLimitError is Slack's refusal of a call for exceeding its rate
// limit. RetryAfter is the wait Slack asked for, 0 when it named none.
type RateLimitError struct{ RetryAfter time.Duration }

func (e *RateLimitError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("rate limited by Slack; retry after %s", e.RetryAfter)
	}
	return "rate limited by Slack"
}

// Send posts m with chat.postMessage to the channel of a
// builtin-slack-channel destination or to the user of a builtin-slack-dm
// one. Every message kind is carried; alert messages carry Acknowledge
// and Close buttons and a link button while Config.InteractiveMessages is
// on.
//
// Outcomes:
//   - Slack posted it: StateDelivered, ProviderID "<channel>:<ts>" (the
//     conversation Slack posted to, a D… id for a direct message, and the
//     message's timestamp).
//   - Slack refused it (ok:false, e.g. channel_not_found, invalid_auth, or
//     another 4xx): StateFailed, Detail the Slack error code. So are a
//     disabled provider (Detail notification.ErrDisabled's text), a
//     destination of another type or without its id, and a message kind
//     Slack does not carry.
//   - Slack rate-limited it (HTTP 429 or ratelimited), was unavailable
//     (5xx, service_unavailable, request_timeout), or the request never
//     reached it: a Temporary error, wrapping a *RateLimitError with the
//     Retry-After wait when rate-limited; Status.Detail repeats its text.
//   - Anything else after the request went out (the connection broke
//     before the answer, an unreadable answer, internal_error or
//     fatal_error, which Slack says may have half-happened): a plain
//     error, as the message may have been posted.
func (s *Sender) Send(ctx context.Context, m notification.Message) (notification.Status, error) {
	cfg := s.config()
	if !cfg.Enable {
		return failed(notification.ErrDisabled.Error()), nil
	}
	channel, err := destChannel(m.Dest)
	if err != nil {
		return failed(err.Error()), nil
	}
	msg, err := render(m, cfg.InteractiveMessages)
	if err != nil {
		return failed(err.Error()), nil
	}
	msg.Channel = channel
	off := false
	msg.UnfurlLinks = &off
	return s.post(ctx, cfg, msg)
}

func failed(detail string) notification.Status {
	return notification.Status{State: notification.StateFailed, Detail: detail}
}

// destChannel returns the chat.postMessage channel of d: a channel id, or
// a user id, to which Slack answers with the app's direct message
// conversation.
func destChannel(d notification.Dest) (string, error) {
	var arg string
	switch d.Type {
	case notification.DestSlackChannel:
		arg = notification.ArgSlackChannelID
	case notification.DestSlackDM:
		arg = notification.ArgSlackUserID
	default:
		return "", fmt.Errorf("destination type %q is not a Slack destination", d.Type)
	}
	id := d.Arg(arg)
	if id == "" {
		return "", fmt.Errorf("destination has no %s", arg)
	}
	return id, nil
}

// apiAnswer is the envelope of every Web API answer.
type apiAnswer struct {
	OK      bool   `json:"ok"`
	Error   string `json:"error"`
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

func (s *Sender) post(ctx context.Context, cfg Config, msg message) (notification.Status, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return failed("encode message: " + err.Error()), nil
	}
	// Whether the whole request was written decides whether a failed call
	// may be repeated without risking a second post.
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				wrote.Store(true)
			}
		},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.apiURL("chat.postMessage"), bytes.NewReader(body))
	if err != nil {
		return failed("invalid Slack base URL: " + err.Error()), nil
	}
	if cfg.AccessToken != "" {
		req.Header.Set("Authorization", "Bearer "+cfg.AccessToken)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")

	resp, err := s.client.Do(req)
	if err != nil {
		err = fmt.Errorf("post Slack message: %w", err)
		if !wrote.Load() {
			return notification.Status{}, notification.Temporary(err)
		}
		return notification.Status{}, err
	}
	defer resp.Body.Close()
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	var ans apiAnswer
	jsonErr := json.Unmarshal(data, &ans)

	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return temporary(&RateLimitError{RetryAfter: retryAfter(resp.Header)})
	case resp.StatusCode >= 500:
		return temporary(fmt.Errorf("answer from Slack: %s", resp.Status))
	case readErr == nil && jsonErr == nil && !ans.OK:
		return classify(ans.Error, resp.Header)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return failed("answer from Slack: " + resp.Status), nil
	case readErr != nil:
		return notification.Status{}, fmt.Errorf("read Slack answer: %w", readErr)
	case jsonErr != nil:
		return notification.Status{}, fmt.Errorf("decode Slack answer: %w", jsonErr)
	}
	channel := ans.Channel
	if channel == "" {
		channel = msg.Channel
	}
	return notification.Status{State: notification.StateDelivered, ProviderID: channel + ":" + ans.TS}, nil
}

// classify turns Slack's ok:false error code into an outcome.
func classify(code string, h http.Header) (notification.Status, error) {
	switch code {
	case "ratelimited", "rate_limited":
		return temporary(&RateLimitError{RetryAfter: retryAfter(h)})
	case "service_unavailable", "request_timeout":
		return temporary(errors.New("error from Slack: " + code))
	case "internal_error", "fatal_error":
		err := errors.New("error from Slack: " + code)
		return notification.Status{Detail: err.Error()}, err
	case "":
		return failed("Slack refused the message without an error code"), nil
	}
	return failed(code), nil
}

func temporary(err error) (notification.Status, error) {
	return notification.Status{Detail: err.Error()}, notification.Temporary(err)
}

// retryAfter reads a Retry-After header in seconds; 0 when absent or not
// a number.
func retryAfter(h http.Header) time.Duration {
	n, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}
