package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/oncallhq/goalert/adapters/slack"
	"github.com/oncallhq/goalert/adapters/twilio"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/alert"
	"github.com/oncallhq/goalert/domain/notification"
	"github.com/oncallhq/goalert/events"
)

// inboundRoutes registers the providers' callbacks (Twilio, Slack) and the
// heartbeat check-in.
func (a *App) inboundRoutes(e *echo.Echo) {
	twilio.NewHandler(a.twilioConfig, twilioBackend{a}, a.log.With("component", "twilio")).Register(e)
	// Slack signs with its own wall clock, so the freshness of a request
	// is judged by real time, not the (possibly scaled) product clock.
	a.slackHandler = slack.NewHandler(a.slackConfig, slackBackend{a}, &http.Client{Timeout: 10 * time.Second}, time.Now, a.log.With("component", "slack"))
	a.slackHandler.Register(e)
	for _, path := range []string{"/api/v2/heartbeat/:id", "/v1/api/heartbeat/:id"} {
		e.Match([]string{http.MethodPost, http.MethodGet}, path, a.heartbeatCheckIn)
	}
}

// heartbeatCheckIn records a beat; the monitor id is the secret.
func (a *App) heartbeatCheckIn(c echo.Context) error {
	ctx := events.WithMetadata(c.Request().Context(), events.Metadata{Actor: "heartbeat:" + c.Param("id"), Source: "heartbeat"})
	if _, err := a.Commands.HeartbeatBeat(ctx, c.Param("id")); err != nil {
		if errors.Is(err, commands.ErrHeartbeatNotFound) {
			return echo.NewHTTPError(http.StatusNotFound, "unknown heartbeat monitor")
		}
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// actAs returns ctx acting as the user owning a destination.
func (a *App) actAs(ctx context.Context, d notification.Dest, source string) (context.Context, string, error) {
	uid, _, err := a.Commands.ContactOwner(ctx, d)
	if err != nil || uid == "" {
		return ctx, "", err
	}
	name, err := a.Commands.UserName(ctx, uid)
	if err != nil {
		return ctx, "", err
	}
	return events.WithMetadata(ctx, events.Metadata{Actor: "user:" + uid, ActorName: name, Source: source}), uid, nil
}

// act applies one person's action to an alert.
func (a *App) act(ctx context.Context, alertID int64, action string) error {
	var err error
	switch action {
	case "ack":
		_, err = a.Commands.AcknowledgeAlert(ctx, alertID)
	case "close":
		_, err = a.Commands.CloseAlert(ctx, alertID)
	case "escalate":
		_, err = a.Commands.EscalateAlert(ctx, alertID)
	default:
		err = fmt.Errorf("unknown action %q", action)
	}
	return err
}

// lastLog returns the newest log line of an alert with the given event,
// for answers such as "Alert #3 already closed: Closed by Bob (SMS)".
func (a *App) lastLog(ctx context.Context, alertID int64, event string) string {
	entries, err := a.Alerts.Log(ctx, alertID)
	if err != nil {
		return ""
	}
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].Event == event {
			return entries[i].Message
		}
	}
	return ""
}

type twilioBackend struct{ a *App }

func twilioAction(act twilio.Action) string {
	switch act {
	case twilio.ActionAcknowledge:
		return "ack"
	case twilio.ActionClose:
		return "close"
	}
	return "escalate"
}

func (b twilioBackend) SMSAction(ctx context.Context, from string, t twilio.Target, act twilio.Action) (twilio.Result, error) {
	h := b.a.Commands
	var id int64
	var err error
	switch t.Kind {
	case twilio.TargetCode:
		id, err = h.SMSAlertByCode(ctx, from, t.Code)
	case twilio.TargetLastAlert:
		id, err = h.SMSLastAlert(ctx, from)
	case twilio.TargetBundleCode:
		return b.bundleAction(ctx, from, t.Code, act)
	case twilio.TargetAlertID:
		var ok bool
		if ok, err = h.AlertSentTo(ctx, t.AlertID, notification.DestSMS, from); ok {
			id = t.AlertID
		}
	}
	if err != nil {
		return twilio.Result{}, err
	}
	if id == 0 {
		return twilio.Result{}, twilio.ErrUnknownCode
	}
	return b.apply(ctx, notification.DestSMS, from, "sms", id, act)
}

func (b twilioBackend) apply(ctx context.Context, destType, number, source string, id int64, act twilio.Action) (twilio.Result, error) {
	ctx, uid, err := b.a.actAs(ctx, notification.Dest{Type: destType, Args: map[string]string{notification.ArgPhoneNumber: number}}, source)
	if err != nil {
		return twilio.Result{}, err
	}
	if uid == "" {
		return twilio.Result{}, twilio.ErrUnknownCode
	}
	err = b.a.act(ctx, id, twilioAction(act))
	switch {
	case errors.Is(err, alert.ErrClosed):
		return twilio.Result{}, &twilio.ActionError{Err: twilio.ErrAlreadyClosed, AlertID: id, LogEntry: b.a.lastLog(ctx, id, "closed")}
	case errors.Is(err, alert.ErrAlreadyAcknowledged):
		return twilio.Result{}, &twilio.ActionError{Err: twilio.ErrAlreadyAcked, AlertID: id, LogEntry: b.a.lastLog(ctx, id, "acknowledged")}
	case errors.Is(err, alert.ErrNotFound):
		return twilio.Result{}, twilio.ErrUnknownCode
	case domain.KindOf(err) != "" && domain.KindOf(err) != domain.KindInternal:
		return twilio.Result{}, &twilio.ActionError{Err: twilio.ErrNotAllowed, AlertID: id, Reason: err.Error()}
	case err != nil:
		return twilio.Result{}, err
	}
	return twilio.Result{AlertID: id}, nil
}

func (b twilioBackend) CallAction(ctx context.Context, msgID string, act twilio.Action) (twilio.Result, error) {
	m, err := b.a.Commands.QueuedMessage(ctx, msgID)
	if err != nil || m.AlertID == 0 {
		return twilio.Result{}, twilio.ErrUnknownCode
	}
	return b.apply(ctx, notification.DestVoice, m.Dest.Arg(notification.ArgPhoneNumber), "voice", m.AlertID, act)
}

func (b twilioBackend) CallMessage(ctx context.Context, msgID string) (notification.Message, error) {
	m, err := b.a.Commands.QueuedMessage(ctx, msgID)
	if err != nil {
		return notification.Message{}, twilio.ErrUnknownCode
	}
	return b.a.render(ctx, m)
}

func (b twilioBackend) SetEnabledByNumber(ctx context.Context, number string, enabled bool) error {
	return b.a.Commands.SetEnabledByNumber(ctx, number, enabled)
}

func (b twilioBackend) AllowUnhelpfulReply(ctx context.Context, number string) (bool, error) {
	uid, _, err := b.a.Commands.ContactOwner(ctx, notification.Dest{Type: notification.DestSMS, Args: map[string]string{notification.ArgPhoneNumber: number}})
	if err != nil || uid == "" {
		return false, err
	}
	return b.a.Commands.SMSUnhelpful(ctx, number, 5)
}

func (b twilioBackend) ResetUnhelpfulReplies(ctx context.Context, number string) error {
	return b.a.Commands.SMSHelpful(ctx, number)
}

func (b twilioBackend) MessageStatus(ctx context.Context, msgID, providerID string, st notification.Status) error {
	return b.a.Commands.MessageStatus(ctx, msgID, providerID, st)
}

type slackBackend struct{ a *App }

func (b slackBackend) Act(ctx context.Context, teamID, slackUserID string, alertID int64, act slack.Action) (slack.Result, error) {
	ctx, uid, err := b.a.actAs(ctx, notification.Dest{Type: notification.DestSlackDM, Args: map[string]string{notification.ArgSlackUserID: slackUserID}}, "slack")
	if err != nil {
		return slack.Result{}, err
	}
	if uid == "" {
		return slack.Result{}, slack.ErrNoLinkedUser
	}
	action, event := "ack", "acknowledged"
	if act == slack.ActionClose {
		action, event = "close", "closed"
	}
	actErr := b.a.act(ctx, alertID, action)
	if actErr != nil && !errors.Is(actErr, alert.ErrClosed) && !errors.Is(actErr, alert.ErrAlreadyAcknowledged) {
		return slack.Result{}, actErr
	}
	res := slack.Result{Status: alert.StatusActive, LogEntry: logLineFor(ctx, event)}
	if action == "close" || errors.Is(actErr, alert.ErrClosed) {
		res.Status = alert.StatusClosed
	}
	if al, err := b.a.Alerts.Get(ctx, alertID); err == nil {
		res.Summary = al.Summary
		if svc, err := b.a.Services.Get(ctx, al.ServiceID); err == nil {
			res.ServiceName = svc.Name
		}
	}
	return res, actErr
}

// logLineFor words what the person of ctx just did.
func logLineFor(ctx context.Context, event string) string {
	m := events.MetadataFrom(ctx)
	verb := strings.ToUpper(event[:1]) + event[1:]
	if m.ActorName != "" {
		return verb + " by " + m.ActorName + " (Slack)"
	}
	return verb + " (Slack)"
}

// bundleAction acknowledges or closes every alert of the service whose
// bundle has reply code code at number ('100aa', '100cc').
func (b twilioBackend) bundleAction(ctx context.Context, number string, code int, act twilio.Action) (twilio.Result, error) {
	svc, err := b.a.Commands.SMSServiceByCode(ctx, number, code)
	if err != nil {
		return twilio.Result{}, err
	}
	if svc == "" || act == twilio.ActionEscalate {
		return twilio.Result{}, twilio.ErrUnknownCode
	}
	ctx, uid, err := b.a.actAs(ctx, notification.Dest{Type: notification.DestSMS, Args: map[string]string{notification.ArgPhoneNumber: number}}, "sms")
	if err != nil {
		return twilio.Result{}, err
	}
	if uid == "" {
		return twilio.Result{}, twilio.ErrUnknownCode
	}
	ids, err := b.a.Commands.OpenAlertIDs(ctx, svc, act == twilio.ActionAcknowledge)
	if err != nil {
		return twilio.Result{}, err
	}
	for _, id := range ids {
		err := b.a.act(ctx, id, twilioAction(act))
		if err != nil && !errors.Is(err, alert.ErrClosed) && !errors.Is(err, alert.ErrAlreadyAcknowledged) {
			return twilio.Result{}, err
		}
	}
	res := twilio.Result{}
	if s, err := b.a.Services.Get(ctx, svc); err == nil {
		res.ServiceName = s.Name
	}
	return res, nil
}
