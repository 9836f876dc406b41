package twilio

import (
	"context"
	"errors"

	"github.com/oncallhq/goalert/domain/notification"
)

// Backend is what Handler needs from the application. Its methods are
// called only for requests whose Twilio signature is valid.
//
// Refusals the person should hear about come back as errors matching one
// of the sentinels below (errors.Is), ideally as an *ActionError that says
// which alert and why; any other error is a system error, logged and
// answered with a pointer to the dashboard.
type Backend interface {
	// SMSAction applies action to target on behalf of the person texting
	// from fromNumber: the code and last-alert targets are looked up among
	// the messages sent to that number, and an alert id qualifies only if
	// the alert was sent to it. It returns ErrUnknownCode when nothing
	// matches, and ErrAlreadyClosed, ErrAlreadyAcked or ErrNotAllowed
	// when the alert's state refuses the action.
	SMSAction(ctx context.Context, fromNumber string, target Target, action Action) (Result, error)
	// CallAction applies action to the alert, or bundle, of the message
	// msgID (the call being answered), with the same errors as SMSAction.
	CallAction(ctx context.Context, msgID string, action Action) (Result, error)
	// CallMessage returns the message msgID that a call is about, so that
	// the call can say it; ErrUnknownCode when there is no such message.
	CallMessage(ctx context.Context, msgID string) (notification.Message, error)
	// SetEnabledByNumber disables (STOP) or re-enables (START) every
	// contact method, SMS and voice, with this phone number.
	SetEnabledByNumber(ctx context.Context, number string, enabled bool) error
	// AllowUnhelpfulReply reports whether an answer that did not act on
	// anything (help text, unknown code, already closed) may be sent to
	// number, and counts it when it may. It returns false for a number no
	// contact method uses, and after five allowed answers since the last
	// ResetUnhelpfulReplies, so that a loop with another automated sender
	// ends.
	AllowUnhelpfulReply(ctx context.Context, number string) (bool, error)
	// ResetUnhelpfulReplies clears the count of AllowUnhelpfulReply; it
	// is called after every action that succeeded from number. The
	// application may also call its own reset when it sends to number.
	ResetUnhelpfulReplies(ctx context.Context, number string) error
	// MessageStatus records a status report from Twilio about message
	// msgID, which Twilio knows as providerID (its SID). Reports may
	// arrive out of order and more than once.
	MessageStatus(ctx context.Context, msgID, providerID string, st notification.Status) error
}

// Result is what an action did.
type Result struct {
	// AlertID is the alert acted on; 0 for a bundle.
	AlertID int64
	// ServiceName is the service whose alerts a bundle action acted on.
	ServiceName string
}

// Refusals of an action, for Backend implementations to return.
var (
	// ErrUnknownCode: the reply code, alert id or message does not match
	// anything sent to this number.
	ErrUnknownCode = errors.New("unknown reply code")
	// ErrAlreadyClosed: the alert is closed.
	ErrAlreadyClosed = errors.New("alert already closed")
	// ErrAlreadyAcked: an acknowledgement of an alert that is already
	// acknowledged.
	ErrAlreadyAcked = errors.New("alert already acknowledged")
	// ErrNotAllowed: the alert's state refuses the action (escalating
	// during maintenance, or an alert that escalated since the message
	// being answered).
	ErrNotAllowed = errors.New("action not allowed")
)

// ActionError is a refusal of an action on one alert, with what the person
// is told about it.
type ActionError struct {
	// Err is ErrAlreadyClosed, ErrAlreadyAcked or ErrNotAllowed.
	Err     error
	AlertID int64
	// LogEntry is the alert log line that explains the alert's state,
	// e.g. "Closed by Bob (SMS)"; optional.
	LogEntry string
	// Reason says why an ErrNotAllowed action was refused, for the
	// person: "the service is in maintenance mode".
	Reason string
}

func (e *ActionError) Error() string {
	msg := e.Err.Error()
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

func (e *ActionError) Unwrap() error { return e.Err }
