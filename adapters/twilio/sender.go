package twilio

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/oncallhq/goalert/domain/notification"
)

// Sender sends SMS and voice calls through Twilio's REST API.
type Sender struct {
	config func() Config
	client *http.Client
}

var _ notification.Sender = (*Sender)(nil)

// defaultTimeout bounds a request to Twilio when the caller's client has no
// timeout of its own.
const defaultTimeout = 15 * time.Second

// NewSender returns a sender. config returns the current Twilio config; it
// is called on every send. client carries the requests; nil means a client
// with a 15-second timeout.
func NewSender(config func() Config, client *http.Client) *Sender {
	if client == nil {
		client = &http.Client{Timeout: defaultTimeout}
	}
	return &Sender{config: config, client: client}
}

// Send sends m to an SMS (notification.DestSMS) or voice
// (notification.DestVoice) destination.
//
// It returns StateSent with Twilio's SID as ProviderID when Twilio accepted
// the message, and StateFailed when Twilio refused it (4xx other than 429,
// with Twilio's code and message in Detail) or when it cannot be sent as
// configured: Twilio disabled (notification.ErrDisabled), credentials or
// from number missing, an unsupported destination or message kind. A
// temporary error (notification.Temporary) means Twilio asked us to retry
// (429, 5xx) or the request never reached it; any other error means the
// outcome is unknown.
func (s *Sender) Send(ctx context.Context, m notification.Message) (notification.Status, error) {
	cfg := s.config()
	if !cfg.Enable {
		return failed("twilio: " + notification.ErrDisabled.Error()), nil
	}
	if cfg.AccountSID == "" || cfg.AuthToken == "" {
		return failed("twilio: Twilio.AccountSID and Twilio.AuthToken must be set"), nil
	}
	to := m.Dest.Arg(notification.ArgPhoneNumber)
	if to == "" {
		return failed("twilio: destination has no phone number"), nil
	}
	if to == cfg.FromNumber {
		return failed("twilio: refusing to send to the Twilio.FromNumber itself"), nil
	}

	var (
		resource string
		form     url.Values
		detail   string
	)
	switch m.Dest.Type {
	case notification.DestSMS:
		resource = "Messages.json"
		form, detail = smsForm(cfg, m, to)
	case notification.DestVoice:
		resource = "Calls.json"
		form, detail = callForm(cfg, m, to)
	default:
		return failed(fmt.Sprintf("twilio: unsupported destination type %q", m.Dest.Type)), nil
	}
	if detail != "" {
		return failed("twilio: " + detail), nil
	}
	return s.post(ctx, cfg, resource, form, m.ID)
}

func failed(detail string) notification.Status {
	return notification.Status{State: notification.StateFailed, Detail: detail}
}

// smsForm returns the parameters of an SMS, or why it cannot be sent.
func smsForm(cfg Config, m notification.Message, to string) (url.Values, string) {
	body, err := smsText(cfg, m, to)
	if err != nil {
		return nil, err.Error()
	}
	form := url.Values{"To": {to}, "Body": {body}}
	switch {
	case cfg.MessagingServiceSID != "":
		form.Set("MessagingServiceSid", cfg.MessagingServiceSID)
	case cfg.FromNumber != "":
		form.Set("From", cfg.FromNumber)
	default:
		return nil, "Twilio.FromNumber or Twilio.MessagingServiceSID must be set"
	}
	if cfg.PublicURL != "" {
		form.Set("StatusCallback", cfg.publicURL(PathMessageStatus+"?"+url.Values{"msgID": {m.ID}}.Encode()))
	}
	return form, ""
}

// callTypes are the values of the call URL's type parameter, GoAlert's
// names for what a call is about.
var callTypes = map[notification.Kind]string{
	notification.KindAlert:        "alert",
	notification.KindAlertBundle:  "bundle",
	notification.KindAlertStatus:  "alert-status",
	notification.KindTest:         "test",
	notification.KindVerification: "verify",
}

// callForm returns the parameters of a call, or why it cannot be made.
// The call's words come later, when Twilio fetches its URL.
func callForm(cfg Config, m notification.Message, to string) (url.Values, string) {
	typ, ok := callTypes[m.Kind]
	if !ok {
		return nil, fmt.Sprintf("voice does not carry %q messages", m.Kind)
	}
	if cfg.FromNumber == "" {
		return nil, "Twilio.FromNumber must be set for voice calls"
	}
	if cfg.PublicURL == "" {
		return nil, "the public URL must be set for voice calls"
	}
	return url.Values{
		"To":                   {to},
		"From":                 {cfg.FromNumber},
		"Url":                  {callURL(cfg, typ, m.ID, "")},
		"Method":               {http.MethodPost},
		"StatusCallback":       {cfg.publicURL(PathCallStatus + "?" + url.Values{"msgID": {m.ID}}.Encode())},
		"StatusCallbackMethod": {http.MethodPost},
		"StatusCallbackEvent":  {"initiated", "ringing", "answered", "completed"},
	}, ""
}

// callURL is the URL Twilio fetches for the next step of a call: the
// call's type and message, and the menu it is in.
func callURL(cfg Config, typ, msgID, menu string) string {
	var q []string
	for _, p := range [][2]string{{"type", typ}, {"msgID", msgID}, {"menu", menu}} {
		if p[1] != "" {
			q = append(q, p[0]+"="+url.QueryEscape(p[1]))
		}
	}
	u := PathCall
	if len(q) > 0 {
		u += "?" + strings.Join(q, "&")
	}
	return cfg.publicURL(u)
}

// maxResponseBytes bounds how much of Twilio's answer is read.
const maxResponseBytes = 1 << 20

// post creates resource (Messages.json or Calls.json) and classifies the
// outcome.
func (s *Sender) post(ctx context.Context, cfg Config, resource string, form url.Values, msgID string) (notification.Status, error) {
	endpoint := cfg.baseURL() + "/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID) + "/" + resource

	// Whether the request was written decides whether a failure may be
	// retried: until then Twilio cannot have acted on it.
	var written atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			written.Store(true)
		}
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return notification.Status{}, fmt.Errorf("twilio: build request: %w", err)
	}
	req.SetBasicAuth(cfg.AccountSID, cfg.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if msgID != "" {
		// Twilio drops a repeated request with the same token.
		req.Header.Set("I-Twilio-Idempotency-Token", msgID)
	}

	resp, err := s.client.Do(req)
	if err != nil {
		err = fmt.Errorf("twilio: post %s: %w", resource, err)
		if !written.Load() {
			return notification.Status{}, notification.Temporary(err)
		}
		return notification.Status{}, err
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))

	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		if readErr != nil {
			return notification.Status{}, fmt.Errorf("twilio: read %s answer: %w", resource, readErr)
		}
		var created struct {
			SID    string `json:"sid"`
			Status string `json:"status"`
		}
		if err := json.Unmarshal(body, &created); err != nil || created.SID == "" {
			return notification.Status{}, fmt.Errorf("twilio: %s answered %d without a sid", resource, code)
		}
		return notification.Status{State: notification.StateSent, ProviderID: created.SID, Detail: created.Status}, nil
	case code == http.StatusTooManyRequests || code >= 500:
		return notification.Status{}, notification.Temporary(fmt.Errorf("twilio: %s: %s", resource, apiErrorText(code, body)))
	case code >= 400:
		return failed("twilio: " + apiErrorText(code, body)), nil
	}
	return notification.Status{}, fmt.Errorf("twilio: %s answered unexpected status %d", resource, resp.StatusCode)
}

// apiError is the body of Twilio's error answers.
type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
}

// apiErrorText describes an error answer: Twilio's message and code when
// the body has them, the HTTP status otherwise.
func apiErrorText(status int, body []byte) string {
	var e apiError
	if json.Unmarshal(body, &e) != nil || (e.Message == "" && e.Code == 0) {
		return fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
	}
	text := e.Message
	if text == "" {
		text = http.StatusText(status)
	}
	if e.Code != 0 {
		text = fmt.Sprintf("%s (code %d)", text, e.Code)
	}
	return text
}
