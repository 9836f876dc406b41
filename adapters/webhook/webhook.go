// Package webhook delivers notifications to webhook contact methods and
// policy targets (destination type builtin-webhook, argument webhook_url):
// one POST of GoAlert's JSON payload per message.
//
// Every request carries the message id as Idempotency-Key (and as
// X-GoAlert-Message-ID), so that a receiver can drop a repeated delivery
// of the same message.
//
// Outcomes:
//   - 2xx: delivered.
//   - 408, 429 and 5xx: a temporary error; the receiver said it did not
//     take the message and may take it later.
//   - any other status (3xx included: redirects are not followed, since
//     the target could lie outside Webhook.AllowedURLs), a URL that is not
//     http(s) or not allowed, Webhook.Enable off: StateFailed.
//   - no connection to the receiver (DNS failure, connection refused, TLS
//     handshake failure, a timeout while connecting): a temporary error,
//     since nothing reached it.
//   - a connection but no answer (a timeout or reset after the request was
//     written): a plain error, because the receiver may have acted on it.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/notification"
)

// DefaultTimeout bounds one request when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Config is what a send needs from the admin config and the command line.
type Config struct {
	// Enable is Webhook.Enable.
	Enable bool
	// AllowedURLs is Webhook.AllowedURLs: when non-empty, a webhook URL
	// must start with one of them (see Validate).
	AllowedURLs []string
	// PublicURL is --public-url; links in payloads are made from it when a
	// message carries none.
	PublicURL string
	// AppName is General.ApplicationName; a message's own AppName wins,
	// and "GoAlert" stands in when both are empty.
	AppName string
	// Timeout bounds one request; 0 means DefaultTimeout.
	Timeout time.Duration
}

// Errors of Validate. They are field errors of the webhook_url argument.
var (
	ErrInvalidURL = &domain.Error{Kind: domain.KindInvalid, Code: "webhook_url_invalid",
		Field: notification.ArgWebhookURL, Message: "must be an absolute http or https URL"}
	ErrURLNotAllowed = &domain.Error{Kind: domain.KindInvalid, Code: "webhook_url_not_allowed",
		Field: notification.ArgWebhookURL, Message: "is not allowed by Webhook.AllowedURLs"}
)

// Validate reports whether messages may be sent to rawURL under cfg: it
// must be an absolute http or https URL with a host and, when
// cfg.AllowedURLs is set, start with one of them. It returns
// ErrInvalidURL or ErrURLNotAllowed.
//
// "Start with" is judged on the parsed URL, not on the text: the scheme
// and host (with port) must be equal, ignoring case, and the rest (path
// and query) must start with the allowed URL's rest. So
// https://hooks.example.com allows https://hooks.example.com/a but not
// https://hooks.example.com.evil.test/ nor https://hooks.example.com@evil.test/.
func Validate(cfg Config, rawURL string) error {
	u, err := parseHTTPURL(rawURL)
	if err != nil {
		return ErrInvalidURL
	}
	if len(cfg.AllowedURLs) == 0 {
		return nil
	}
	for _, a := range cfg.AllowedURLs {
		if allowedBy(u, strings.TrimSpace(a)) {
			return nil
		}
	}
	return ErrURLNotAllowed
}

func parseHTTPURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return nil, errors.New("not an absolute http(s) URL")
	}
	return u, nil
}

// allowedBy reports whether u starts with the allowed URL a.
func allowedBy(u *url.URL, a string) bool {
	base, err := parseHTTPURL(a)
	if err != nil {
		return false
	}
	if !strings.EqualFold(u.Scheme, base.Scheme) || !strings.EqualFold(u.Host, base.Host) {
		return false
	}
	if base.User != nil && (u.User == nil || u.User.String() != base.User.String()) {
		return false
	}
	return strings.HasPrefix(rest(u), rest(base))
}

// rest is the part of u after the host, as it is sent.
func rest(u *url.URL) string {
	s := u.EscapedPath()
	if u.ForceQuery || u.RawQuery != "" {
		s += "?" + u.RawQuery
	}
	return s
}

// Sender posts messages to webhooks.
type Sender struct {
	config func() Config
	client *http.Client
}

var _ notification.Sender = (*Sender)(nil)

// New returns a sender that reads its Config through config on every send,
// so admin changes apply to the next message, and posts with client (nil
// means a client of its own). Redirects are never followed, whatever
// client's policy.
func New(config func() Config, client *http.Client) *Sender {
	c := &http.Client{}
	if client != nil {
		copied := *client
		c = &copied
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Sender{config: config, client: c}
}

// maxDetailBody is how much of a refusing receiver's body goes into the
// status detail.
const maxDetailBody = 200

// Send posts m to its webhook URL. See the package comment for outcomes.
func (s *Sender) Send(ctx context.Context, m notification.Message) (notification.Status, error) {
	cfg := s.config()
	if !cfg.Enable {
		return failed(notification.ErrDisabled.Error()), nil
	}
	if m.Dest.Type != notification.DestWebhook {
		return failed(fmt.Sprintf("unsupported destination type %q", m.Dest.Type)), nil
	}
	target := m.Dest.Arg(notification.ArgWebhookURL)
	if err := Validate(cfg, target); err != nil {
		var de *domain.Error
		errors.As(err, &de)
		return failed("webhook URL " + de.Message), nil
	}
	payload, err := payloadOf(cfg, m)
	if err != nil {
		return failed(err.Error()), nil
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return failed(fmt.Sprintf("encode payload: %v", err)), nil
	}

	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// connected records that the transport got a connection to write the
	// request on. Without one nothing reached the receiver; with one, a
	// failure leaves the outcome unknown, since the request may have been
	// read and acted on before the answer was lost.
	var connected atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { connected.Store(true) },
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return failed("webhook URL " + ErrInvalidURL.Message), nil
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GoAlert")
	if m.ID != "" {
		req.Header.Set("Idempotency-Key", m.ID)
		req.Header.Set("X-GoAlert-Message-ID", m.ID)
	}

	resp, err := s.client.Do(req)
	if err != nil {
		// url.Error repeats the whole URL, which may hold a secret token.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		where := redact(req.URL)
		if connected.Load() {
			return notification.Status{}, fmt.Errorf("webhook %s: no response, the request may have been received: %w", where, err)
		}
		return notification.Status{}, notification.Temporary(fmt.Errorf("webhook %s: %w", where, err))
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))

	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return notification.Status{State: notification.StateDelivered, Detail: resp.Status}, nil
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		return notification.Status{}, notification.Temporaryf("webhook %s: %s", redact(req.URL), describe(resp, snippet))
	case code >= 300 && code < 400:
		return failed(describe(resp, snippet) + " (redirects are not followed)"), nil
	default:
		return failed(describe(resp, snippet)), nil
	}
}

func failed(detail string) notification.Status {
	return notification.Status{State: notification.StateFailed, Detail: detail}
}

// describe is the status line and the start of the body, for a person.
func describe(resp *http.Response, body []byte) string {
	s := "HTTP " + resp.Status
	if resp.Status == "" {
		s = "HTTP " + strconv.Itoa(resp.StatusCode)
	}
	text := strings.Join(strings.Fields(string(body)), " ")
	if !utf8.ValidString(text) || text == "" {
		return s
	}
	if len(text) > maxDetailBody {
		cut := maxDetailBody
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "…"
	}
	return s + ": " + text
}

// redact is u without credentials, path or query, which may hold secrets.
func redact(u *url.URL) string { return u.Scheme + "://" + u.Host }

// The payloads, with GoAlert's field names. Fields beyond GoAlert's come
// after them; receivers written for GoAlert ignore them.
type (
	testPayload struct {
		AppName string
		Type    notification.Kind
	}
	verificationPayload struct {
		AppName string
		Type    notification.Kind
		Code    string
	}
	alertPayload struct {
		AppName     string
		Type        notification.Kind
		AlertID     int64
		Summary     string
		Details     string
		ServiceID   string
		ServiceName string
		Meta        map[string]string
		GoAlertURL  string
	}
	bundlePayload struct {
		AppName     string
		Type        notification.Kind
		ServiceID   string
		ServiceName string
		Count       int
		GoAlertURL  string
	}
	statusPayload struct {
		AppName    string
		Type       notification.Kind
		AlertID    int64
		LogEntry   string
		Summary    string
		Details    string
		NewStatus  string
		GoAlertURL string
	}
	onCallUser struct {
		ID   string
		Name string
		URL  string
	}
	onCallPayload struct {
		AppName      string
		Type         notification.Kind
		Users        []onCallUser
		ScheduleID   string
		ScheduleName string
		ScheduleURL  string
	}
)

// payloadOf is the JSON body (before encoding) sent for m. It fails only
// for a message kind it does not know.
//
// Links (GoAlertURL, ScheduleURL) are the message's own, or else made from
// cfg.PublicURL: /alerts/<id>, /services/<id>/alerts, /schedules/<id>.
func payloadOf(cfg Config, m notification.Message) (any, error) {
	app := m.AppName
	if app == "" {
		app = cfg.AppName
	}
	if app == "" {
		app = "GoAlert"
	}
	switch m.Kind {
	case notification.KindTest:
		return testPayload{AppName: app, Type: m.Kind}, nil
	case notification.KindVerification:
		return verificationPayload{AppName: app, Type: m.Kind, Code: m.Code}, nil
	case notification.KindAlert:
		meta := m.Meta
		if meta == nil {
			meta = map[string]string{}
		}
		return alertPayload{
			AppName: app, Type: m.Kind, AlertID: m.AlertID, Summary: m.Summary, Details: m.Details,
			ServiceID: m.ServiceID, ServiceName: m.ServiceName, Meta: meta,
			GoAlertURL: link(m.AlertURL, cfg.PublicURL, "/alerts/"+strconv.FormatInt(m.AlertID, 10)),
		}, nil
	case notification.KindAlertBundle:
		return bundlePayload{
			AppName: app, Type: m.Kind, ServiceID: m.ServiceID, ServiceName: m.ServiceName, Count: m.Count,
			GoAlertURL: link(m.AlertURL, cfg.PublicURL, "/services/"+url.PathEscape(m.ServiceID)+"/alerts"),
		}, nil
	case notification.KindAlertStatus:
		return statusPayload{
			AppName: app, Type: m.Kind, AlertID: m.AlertID, LogEntry: m.LogEntry,
			Summary: m.Summary, Details: m.Details, NewStatus: m.NewStatus,
			GoAlertURL: link(m.AlertURL, cfg.PublicURL, "/alerts/"+strconv.FormatInt(m.AlertID, 10)),
		}, nil
	case notification.KindOnCallUsers:
		users := make([]onCallUser, len(m.OnCall))
		for i, u := range m.OnCall {
			users[i] = onCallUser(u)
		}
		return onCallPayload{
			AppName: app, Type: m.Kind, Users: users, ScheduleID: m.ScheduleID, ScheduleName: m.ScheduleName,
			ScheduleURL: link(m.ScheduleURL, cfg.PublicURL, "/schedules/"+url.PathEscape(m.ScheduleID)),
		}, nil
	}
	return nil, fmt.Errorf("unsupported message kind %q", m.Kind)
}

// link is own, or path under publicURL, or "" when there is neither.
func link(own, publicURL, path string) string {
	if own != "" || publicURL == "" {
		return own
	}
	return strings.TrimSuffix(publicURL, "/") + path
}
