// Package notification describes what the product sends to people and
// channels, independent of the provider that carries it: destinations, the
// kinds of message, and how a provider reports the outcome of a send.
package notification

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Destination types, with GoAlert's ids.
const (
	DestSMS          = "builtin-twilio-sms"    // arg phone_number
	DestVoice        = "builtin-twilio-voice"  // arg phone_number
	DestEmail        = "builtin-smtp-email"    // arg email_address
	DestWebhook      = "builtin-webhook"       // arg webhook_url
	DestSlackDM      = "builtin-slack-dm"      // arg slack_user_id
	DestSlackChannel = "builtin-slack-channel" // arg slack_channel_id
)

// Destination argument names.
const (
	ArgPhoneNumber    = "phone_number"
	ArgEmailAddress   = "email_address"
	ArgWebhookURL     = "webhook_url"
	ArgSlackUserID    = "slack_user_id"
	ArgSlackChannelID = "slack_channel_id"
)

// Dest is where a message goes: a type and its arguments, GoAlert's
// `dest:{type,args}` shape.
type Dest struct {
	Type string            `json:"type"`
	Args map[string]string `json:"args"`
}

// Arg returns the argument named name.
func (d Dest) Arg(name string) string { return d.Args[name] }

// Kind is what a message is about. The values are the webhook payload's
// Type field.
type Kind string

const (
	KindTest         Kind = "Test"
	KindVerification Kind = "Verification"
	KindAlert        Kind = "Alert"
	KindAlertBundle  Kind = "AlertBundle"
	KindAlertStatus  Kind = "AlertStatus"
	KindOnCallUsers  Kind = "ScheduleOnCallUsers"
)

// Message is one thing to send to one destination. A provider renders it in
// its own format (an SMS text, TwiML, a Slack block, an email, JSON).
type Message struct {
	// ID identifies the message across retries: providers that support an
	// idempotency key send it, so a repeated attempt is recognisable.
	ID   string
	Kind Kind
	Dest Dest
	// AppName is General.ApplicationName, or "GoAlert".
	AppName string
	// UserID and UserName are the user the message is for, when it goes to
	// a contact method.
	UserID   string
	UserName string

	// Code is the 6-digit code of a Verification.
	Code string

	// Alert, AlertStatus: the alert. AlertBundle: ServiceID/ServiceName and
	// Count.
	AlertID     int64
	Summary     string
	Details     string
	ServiceID   string
	ServiceName string
	Meta        map[string]string
	// AlertURL links to the alert (or to the service's alerts for a
	// bundle); empty when links are off.
	AlertURL string
	// ReplyCode is the per-phone-number code SMS replies use ('<N>a');
	// 0 when replies are off.
	ReplyCode int
	// Count is the number of unacknowledged alerts of a bundle.
	Count int

	// AlertStatus: the alert's new status ("acknowledged", "closed",
	// "triggered") and the log line that explains it ("Acknowledged by
	// Bob (SMS)").
	NewStatus string
	LogEntry  string

	// ScheduleOnCallUsers.
	ScheduleID   string
	ScheduleName string
	ScheduleURL  string
	OnCall       []OnCallUser

	// CreatedAt is when the message was queued.
	CreatedAt time.Time
}

// OnCallUser is one user of an on-call notification.
type OnCallUser struct {
	ID   string
	Name string
	URL  string
}

// State is how far a send got.
type State string

const (
	// StateSent: the provider accepted the message.
	StateSent State = "sent"
	// StateDelivered: the provider confirmed delivery (webhook 2xx, email
	// accepted by the relay, Slack posted).
	StateDelivered State = "delivered"
	// StateFailed: the provider refused it for good.
	StateFailed State = "failed"
)

// Status is the outcome of a send as the provider reports it.
type Status struct {
	State State
	// ProviderID is the provider's id for the message (Twilio's SID, a
	// Slack message timestamp), used to match later status callbacks.
	ProviderID string
	// Detail is a human-readable reason or note.
	Detail string
}

// Sender delivers messages of the destination types it supports.
//
// Send returns a Status for every outcome the provider decided (including
// StateFailed for a permanent refusal), and an error only when the outcome
// is not known: wrap it with Temporary when the send may be retried (the
// provider said so, or nothing reached it), and return it plain when the
// message may or may not have gone out.
type Sender interface {
	Send(ctx context.Context, m Message) (Status, error)
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, m Message) (Status, error)

func (f SenderFunc) Send(ctx context.Context, m Message) (Status, error) { return f(ctx, m) }

// TemporaryError is a failure after which the same send may be tried again
// without risk of a duplicate: the message certainly did not go out.
type TemporaryError struct{ Err error }

func (e *TemporaryError) Error() string { return "temporary: " + e.Err.Error() }
func (e *TemporaryError) Unwrap() error { return e.Err }

// Temporary marks err as a temporary failure.
func Temporary(err error) error {
	if err == nil {
		return nil
	}
	return &TemporaryError{Err: err}
}

// Temporaryf formats a temporary failure.
func Temporaryf(format string, args ...any) error {
	return &TemporaryError{Err: fmt.Errorf(format, args...)}
}

// IsTemporary reports whether err is a temporary failure.
func IsTemporary(err error) bool {
	var t *TemporaryError
	return errors.As(err, &t)
}

// ErrDisabled is returned by a sender whose provider is switched off in the
// admin config.
var ErrDisabled = errors.New("provider is disabled in the admin config")
