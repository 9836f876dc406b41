package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/alert"
)

// Action is what a click asks to do to an alert.
type Action string

const (
	ActionAcknowledge Action = "acknowledge"
	ActionClose       Action = "close"
)

// Result describes the alert after an action, for the rewrite of the
// clicked message, which shows Summary, ServiceName, Status and LogEntry
// and links to <Config.PublicURL>/alerts/<id>.
type Result struct {
	// Status is the alert's status now.
	Status alert.Status
	// LogEntry is the log line that records the action, as people read it
	// ("Acknowledged by Bob (Slack)").
	LogEntry    string
	Summary     string
	ServiceName string
}

// ErrNoLinkedUser is the Backend's answer for a Slack user that no user of
// the app has as a Slack DM contact method.
var ErrNoLinkedUser = &domain.Error{
	Kind: domain.KindUnauthorized, Code: "slack_user_not_linked",
	Message: "the Slack user is not the contact method of any user",
}

// Backend acts on alerts for people who click in Slack. The app
// implements it.
type Backend interface {
	// Act acknowledges or closes alert alertID for the app's user whose
	// Slack DM contact method is userID of workspace teamID, and returns
	// the alert as it is afterwards.
	//
	// It returns ErrNoLinkedUser when no user has that contact method,
	// alert.ErrNotFound for an unknown alert, alert.ErrClosed for a closed
	// one and alert.ErrAlreadyAcknowledged for acknowledging an
	// acknowledged one; with the last two it may also return the alert's
	// Result, and the clicked message is then brought up to date too. Any
	// other domain error is shown to the Slack user with its message; any
	// other error is logged and shown as an internal error.
	Act(ctx context.Context, teamID, userID string, alertID int64, a Action) (Result, error)
}

// Router is where Handler mounts its endpoint: an *echo.Echo, or an
// *echo.Group without a path prefix.
type Router interface {
	POST(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route
}

// Limits of the interaction endpoint.
const (
	// maxActionBody bounds an interaction request; Slack's carry the
	// clicked message, a few kilobytes.
	maxActionBody = 1 << 20
	// ReplyTimeout bounds the posts to a click's response_url.
	ReplyTimeout = 15 * time.Second
)

// Handler serves Slack's interaction requests at MessageActionPath.
type Handler struct {
	config   func() Config
	backend  Backend
	client   *http.Client
	now      func() time.Time
	log      *slog.Logger
	inflight sync.WaitGroup
}

// NewHandler returns the interaction handler. config returns the
// configuration in force and is called on every request; client posts to
// response URLs (nil means a client with ReplyTimeout); now tells the time
// that request timestamps are checked against; log receives failures that
// Slack cannot be told about (nil discards them).
func NewHandler(config func() Config, backend Backend, client *http.Client, now func() time.Time, log *slog.Logger) *Handler {
	if client == nil {
		client = &http.Client{Timeout: ReplyTimeout}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{config: config, backend: backend, client: client, now: now, log: log}
}

// Register mounts POST MessageActionPath on r.
func (h *Handler) Register(r Router) { r.POST(MessageActionPath, h.MessageAction) }

// Wait blocks until every response_url post under way has finished. Call
// it at shutdown, after the HTTP server has stopped taking requests.
func (h *Handler) Wait() { h.inflight.Wait() }

// MessageAction handles one interaction request. A request whose
// signature does not verify (see VerifySignature) is refused with 401
// before anything else is read. A verified click on Acknowledge or Close
// acts through the Backend and is answered 200 as soon as the Backend
// returns, so the action is recorded when the click's request completes;
// the outcome reaches Slack afterwards through the payload's response_url,
// posted in the background (see Wait): the clicked message rewritten with
// the alert's new status (without Acknowledge once acknowledged and
// without either button once closed), or a message only the clicking user
// sees explaining why nothing was done. A malformed
// payload or an unknown action is 400; clicks on the link button and other
// interaction types are 200 and do nothing.
func (h *Handler) MessageAction(c echo.Context) error {
	r := c.Request()
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, maxActionBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "request body too large")
		}
		return echo.NewHTTPError(http.StatusBadRequest, "unreadable request body")
	}
	cfg := h.config()
	if err := VerifySignature(cfg.SigningSecret, h.now(), r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body); err != nil {
		return echo.NewHTTPError(http.StatusUnauthorized, "invalid Slack request signature")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "malformed form body")
	}
	p, err := ParsePayload(form.Get("payload"))
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	if p.Type != "block_actions" || len(p.Actions) == 0 {
		return c.NoContent(http.StatusOK)
	}
	act := p.Actions[0]
	var a Action
	switch act.ActionID {
	case ActionIDAcknowledge:
		a = ActionAcknowledge
	case ActionIDClose:
		a = ActionClose
	case ActionIDOpen:
		return c.NoContent(http.StatusOK)
	default:
		return echo.NewHTTPError(http.StatusBadRequest, "unknown action_id")
	}
	id, err := strconv.ParseInt(act.Value, 10, 64)
	if err != nil || id <= 0 {
		return echo.NewHTTPError(http.StatusBadRequest, "action value is not an alert id")
	}
	if p.UserID == "" {
		return echo.NewHTTPError(http.StatusBadRequest, "payload has no user id")
	}

	if !cfg.Enable || !cfg.InteractiveMessages {
		h.reply(r.Context(), p.ResponseURL, ephemeral("Acting on alerts from Slack is turned off in "+cfg.appName()+"."))
		return c.NoContent(http.StatusOK)
	}
	res, err := h.backend.Act(r.Context(), p.TeamID, p.UserID, id, a)
	h.reply(r.Context(), p.ResponseURL, h.replies(cfg, p, id, a, res, err)...)
	return c.NoContent(http.StatusOK)
}

// replies decides what a click's response_url receives.
func (h *Handler) replies(cfg Config, p Payload, id int64, a Action, res Result, err error) []message {
	app := cfg.appName()
	rewrite := func() message {
		v := alertView{
			ID: id, Summary: res.Summary, ServiceName: res.ServiceName, Status: string(res.Status),
			LogEntry: res.LogEntry, URL: cfg.alertURL(strconv.FormatInt(id, 10)), AppName: app, Interactive: true,
		}
		return message{ReplaceOriginal: true, Text: v.text(), Blocks: v.blocks()}
	}
	verb := map[Action]string{ActionAcknowledge: "acknowledge", ActionClose: "close"}[a]
	switch {
	case err == nil:
		return []message{rewrite()}
	case errors.Is(err, ErrNoLinkedUser):
		return []message{ephemeral(fmt.Sprintf("Your Slack user %s has no contact method in %s. "+
			"Add it to your %s profile as a Slack DM contact method, then try again.", p.UserID, app, app))}
	case errors.Is(err, alert.ErrClosed), errors.Is(err, alert.ErrAlreadyAcknowledged):
		what := "closed"
		if errors.Is(err, alert.ErrAlreadyAcknowledged) {
			what = "acknowledged"
		}
		out := []message{ephemeral(fmt.Sprintf("Alert #%d is already %s.", id, what))}
		if res.Status != "" {
			out = append(out, rewrite())
		}
		return out
	case errors.Is(err, alert.ErrNotFound):
		return []message{ephemeral(fmt.Sprintf("Alert #%d was not found in %s.", id, app))}
	}
	var de *domain.Error
	if errors.As(err, &de) && de.Kind != domain.KindInternal {
		return []message{ephemeral(fmt.Sprintf("Could not %s alert #%d: %s.", verb, id, de.Message))}
	}
	h.log.Error("slack: act on alert", "alert_id", id, "action", string(a), "slack_user", p.UserID, "err", err)
	return []message{ephemeral(fmt.Sprintf("Could not %s alert #%d because of an internal error in %s; please try again.", verb, id, app))}
}

func ephemeral(s string) message {
	return message{ResponseType: "ephemeral", Text: escape(s)}
}

// reply posts msgs, in order, to responseURL in the background, so that
// Slack has its answer within the three seconds it waits.
func (h *Handler) reply(ctx context.Context, responseURL string, msgs ...message) {
	if len(msgs) == 0 {
		return
	}
	u, err := url.Parse(responseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		h.log.Warn("slack: interaction without a usable response_url", "response_url", responseURL)
		return
	}
	ctx = context.WithoutCancel(ctx)
	h.inflight.Add(1)
	go func() {
		defer h.inflight.Done()
		ctx, cancel := context.WithTimeout(ctx, ReplyTimeout)
		defer cancel()
		for _, m := range msgs {
			if err := h.postReply(ctx, u.String(), m); err != nil {
				h.log.Warn("slack: post to response_url", "err", err)
				return
			}
		}
	}()
}

func (h *Handler) postReply(ctx context.Context, responseURL string, m message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode reply: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build reply request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("post reply: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswerBytes))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("post reply: answer %s", resp.Status)
	}
	return nil
}

// Payload is what the handler reads of an interaction payload.
type Payload struct {
	// Type is the interaction type; buttons send "block_actions".
	Type string
	// TeamID is the workspace of the clicking user.
	TeamID string
	// UserID is the clicking Slack user.
	UserID string
	// ChannelID and MessageTS identify the clicked message.
	ChannelID string
	MessageTS string
	// ResponseURL takes replies to the click for 30 minutes.
	ResponseURL string
	Actions     []PayloadAction
}

// PayloadAction is one clicked element.
type PayloadAction struct {
	ActionID string
	BlockID  string
	Value    string
}

// wirePayload is the part of Slack's block_actions JSON we read.
type wirePayload struct {
	Type string `json:"type"`
	User struct {
		ID     string `json:"id"`
		TeamID string `json:"team_id"`
	} `json:"user"`
	Team *struct {
		ID string `json:"id"`
	} `json:"team"`
	Channel *struct {
		ID string `json:"id"`
	} `json:"channel"`
	Message *struct {
		TS string `json:"ts"`
	} `json:"message"`
	Container struct {
		ChannelID string `json:"channel_id"`
		MessageTS string `json:"message_ts"`
	} `json:"container"`
	ResponseURL string `json:"response_url"`
	Actions     []struct {
		ActionID string `json:"action_id"`
		BlockID  string `json:"block_id"`
		Value    string `json:"value"`
	} `json:"actions"`
}

// ParsePayload reads the payload form field of an interaction request.
// The workspace comes from team.id, or user.team_id where Slack sends no
// team (org-wide apps); the message from channel.id and message.ts, or the
// container's. It returns an error for an empty or malformed payload.
func ParsePayload(s string) (Payload, error) {
	if s == "" {
		return Payload{}, errors.New("missing payload")
	}
	var w wirePayload
	if err := json.Unmarshal([]byte(s), &w); err != nil {
		return Payload{}, fmt.Errorf("malformed payload: %w", err)
	}
	p := Payload{
		Type: w.Type, UserID: w.User.ID, TeamID: w.User.TeamID, ResponseURL: w.ResponseURL,
		ChannelID: w.Container.ChannelID, MessageTS: w.Container.MessageTS,
	}
	if w.Team != nil && w.Team.ID != "" {
		p.TeamID = w.Team.ID
	}
	if w.Channel != nil && w.Channel.ID != "" {
		p.ChannelID = w.Channel.ID
	}
	if w.Message != nil && w.Message.TS != "" {
		p.MessageTS = w.Message.TS
	}
	for _, a := range w.Actions {
		p.Actions = append(p.Actions, PayloadAction{ActionID: a.ActionID, BlockID: a.BlockID, Value: a.Value})
	}
	return p, nil
}
