package twilio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/oncallhq/goalert/domain/notification"
)

// Handler serves Twilio's callbacks: inbound SMS, voice call steps, and
// delivery status reports of SMS and calls.
type Handler struct {
	config  func() Config
	backend Backend
	log     *slog.Logger
}

// NewHandler returns the handler. config returns the current Twilio config
// and is called on every request; backend acts on verified requests; log
// receives failures of the backend (nil means slog.Default()).
func NewHandler(config func() Config, backend Backend, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{config: config, backend: backend, log: log}
}

// Router is where Handler registers its routes: an *echo.Echo or an
// *echo.Group without a prefix.
type Router interface {
	POST(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route
}

// Register adds POST PathMessage, PathMessageStatus, PathCall and
// PathCallStatus to r.
//
// Every request must carry Twilio's signature of the public URL it was
// sent to and its POST parameters; while Twilio is disabled, or when the
// signature is missing or wrong, the answer is 403 and the backend is not
// called.
func (h *Handler) Register(r Router) {
	r.POST(PathMessage, h.verified(h.message))
	r.POST(PathMessageStatus, h.verified(h.messageStatus))
	r.POST(PathCall, h.verified(h.call))
	r.POST(PathCallStatus, h.verified(h.callStatus))
}

// verifiedFunc handles a request whose signature is valid; form holds its
// POST parameters.
type verifiedFunc func(c echo.Context, cfg Config, form url.Values) error

func (h *Handler) verified(next verifiedFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		cfg := h.config()
		if !cfg.Enable {
			return echo.NewHTTPError(http.StatusForbidden, "Twilio is disabled")
		}
		r := c.Request()
		if err := r.ParseForm(); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return err
			}
			return echo.NewHTTPError(http.StatusBadRequest, "malformed form body")
		}
		if cfg.PublicURL == "" || !validSignature(cfg.AuthToken, requestURL(cfg, r), r.PostForm, r.Header.Get(SignatureHeader)) {
			return echo.NewHTTPError(http.StatusForbidden, "invalid Twilio signature")
		}
		return next(c, cfg, r.PostForm)
	}
}

// requestURL is the URL Twilio requested: the public URL, the path and the
// query as they arrived.
func requestURL(cfg Config, r *http.Request) string {
	u := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	return cfg.publicURL(u)
}

// message answers an inbound SMS with TwiML: the answer to a reply, or
// nothing.
func (h *Handler) message(c echo.Context, cfg Config, form url.Values) error {
	ctx := c.Request().Context()
	from := form.Get("From")
	if from == "" || from == cfg.FromNumber {
		return echo.NewHTTPError(http.StatusBadRequest, "missing or invalid From")
	}

	reply := ParseReply(form.Get("Body"))
	switch reply.Kind {
	case ReplyStop, ReplyStart:
		// The carrier confirms these itself; a second answer would only
		// cost a message.
		enable := reply.Kind == ReplyStart
		if err := h.backend.SetEnabledByNumber(ctx, from, enable); err != nil {
			return fmt.Errorf("twilio: set contact methods of %s enabled=%t: %w", from, enable, err)
		}
		return writeTwiML(c, &twiml{})
	}

	app := cfg.appName("")
	if cfg.DisableTwoWaySMS {
		return h.unhelpful(c, from, "Response codes are currently disabled. Visit the dashboard to manage alerts.")
	}
	if reply.Kind != ReplyAction {
		return h.unhelpful(c, from, "Sorry, but that isn't a request "+app+" understood. Visit the Web UI for more information. To unsubscribe, reply with STOP.")
	}

	res, err := h.backend.SMSAction(ctx, from, reply.Target, reply.Action)
	if err != nil {
		return h.unhelpful(c, from, h.refusal(ctx, err, false))
	}
	if err := h.backend.ResetUnhelpfulReplies(ctx, from); err != nil {
		h.log.ErrorContext(ctx, "twilio: reset unhelpful reply count", "number", from, "err", err)
	}
	return writeTwiML(c, &twiml{Verbs: []any{messageVerb{Text: done(reply.Action, res)}}})
}

// unhelpful answers with text if the backend allows another answer that
// did not act on anything, and with nothing otherwise.
func (h *Handler) unhelpful(c echo.Context, number, text string) error {
	ctx := c.Request().Context()
	ok, err := h.backend.AllowUnhelpfulReply(ctx, number)
	if err != nil {
		h.log.ErrorContext(ctx, "twilio: check unhelpful reply limit", "number", number, "err", err)
	}
	if err != nil || !ok {
		return writeTwiML(c, &twiml{})
	}
	return writeTwiML(c, &twiml{Verbs: []any{messageVerb{Text: text}}})
}

// done says what an action did: "Acknowledged alert #12", "Closed all
// alerts for service 'Web'".
func done(a Action, res Result) string {
	var verb string
	switch a {
	case ActionAcknowledge:
		verb = "Acknowledged"
	case ActionEscalate:
		verb = "Escalation requested"
	default:
		verb = "Closed"
	}
	if res.ServiceName != "" {
		return fmt.Sprintf("%s all alerts for service '%s'", verb, res.ServiceName)
	}
	return fmt.Sprintf("%s alert #%d", verb, res.AlertID)
}

// refusal says why an action was not done, for an SMS or (spoken) for a
// call. Errors that are not refusals are logged.
func (h *Handler) refusal(ctx context.Context, err error, spoken bool) string {
	var ae *ActionError
	if !errors.As(err, &ae) {
		ae = &ActionError{Err: err}
	}
	alert := "Alert"
	if ae.AlertID > 0 {
		alert = fmt.Sprintf("Alert #%d", ae.AlertID)
	}
	withLog := func(s string) string {
		switch {
		case ae.LogEntry == "":
			return s
		case spoken:
			return s + ". " + ae.LogEntry + "."
		}
		return s + "\n\n" + ae.LogEntry
	}

	switch {
	case errors.Is(err, ErrUnknownCode):
		if spoken {
			return "Sorry, this alert could not be found. Please use the dashboard to manage alerts."
		}
		return "Unknown reply code for this action. Visit the dashboard to manage alerts."
	case errors.Is(err, ErrAlreadyClosed):
		return withLog(alert + " already closed")
	case errors.Is(err, ErrAlreadyAcked):
		return withLog(alert + " already acknowledged")
	case errors.Is(err, ErrNotAllowed):
		reason := ae.Reason
		if reason == "" {
			reason = "that action is not possible for " + lowerFirst(alert) + " right now"
		}
		return "Error: " + reason
	}
	h.log.ErrorContext(ctx, "twilio: act on a reply", "err", err)
	if spoken {
		return "An error has occurred. Please use the dashboard to manage alerts."
	}
	return "System error. Visit the dashboard to manage alerts."
}

func lowerFirst(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}

// messageStatus records a status report of an SMS.
func (h *Handler) messageStatus(c echo.Context, _ Config, form url.Values) error {
	sid := firstOf(form, "MessageSid", "SmsSid")
	status := firstOf(form, "MessageStatus", "SmsStatus")
	st, ok := smsStatus(status, form.Get("ErrorCode"))
	return h.recordStatus(c, sid, status, st, ok)
}

// callStatus records a status report of a call.
func (h *Handler) callStatus(c echo.Context, _ Config, form url.Values) error {
	status := form.Get("CallStatus")
	if status == "failed" && form.Get("SipResponseCode") == "480" {
		// The callee was unreachable: nobody answered, nothing broke.
		status = "no-answer"
	}
	st, ok := callStatusOf(status)
	return h.recordStatus(c, form.Get("CallSid"), status, st, ok)
}

func (h *Handler) recordStatus(c echo.Context, sid, status string, st notification.Status, known bool) error {
	msgID := c.QueryParam("msgID")
	if msgID == "" || sid == "" || status == "" {
		return echo.NewHTTPError(http.StatusBadRequest, "missing msgID, SID or status")
	}
	if !known {
		// A state we do not track, such as a newer one Twilio added.
		return c.NoContent(http.StatusNoContent)
	}
	st.ProviderID = sid
	if err := h.backend.MessageStatus(c.Request().Context(), msgID, sid, st); err != nil {
		return fmt.Errorf("twilio: record status %q of message %s: %w", status, msgID, err)
	}
	return c.NoContent(http.StatusNoContent)
}

func firstOf(form url.Values, names ...string) string {
	for _, n := range names {
		if v := form.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// smsStatus maps Twilio's status of a message.
func smsStatus(status, errorCode string) (notification.Status, bool) {
	switch status {
	case "accepted", "scheduled", "queued", "sending", "sent":
		return notification.Status{State: notification.StateSent, Detail: status}, true
	case "delivered", "read":
		return notification.Status{State: notification.StateDelivered, Detail: status}, true
	case "undelivered", "failed", "canceled":
		detail := status
		if errorCode != "" {
			detail += " (error " + errorCode + ")"
		}
		return notification.Status{State: notification.StateFailed, Detail: detail}, true
	}
	return notification.Status{}, false
}

// callStatusOf maps Twilio's status of a call: a call that was answered
// and ended is delivered.
func callStatusOf(status string) (notification.Status, bool) {
	switch status {
	case "queued", "initiated", "ringing", "in-progress":
		return notification.Status{State: notification.StateSent, Detail: status}, true
	case "completed":
		return notification.Status{State: notification.StateDelivered, Detail: status}, true
	case "busy", "no-answer", "canceled", "failed":
		return notification.Status{State: notification.StateFailed, Detail: status}, true
	}
	return notification.Status{}, false
}
