package slack

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/oncallhq/goalert/domain/notification"
)

// Block Kit's limits on the fields we fill.
const (
	maxSectionText = 3000
	maxContextText = 2000
	maxButtonText  = 75
)

// message is the body of chat.postMessage and of a response_url post.
type message struct {
	Channel         string  `json:"channel,omitempty"`
	Text            string  `json:"text"`
	Blocks          []block `json:"blocks,omitempty"`
	ResponseType    string  `json:"response_type,omitempty"`
	ReplaceOriginal bool    `json:"replace_original,omitempty"`
	// UnfurlLinks off keeps the alert link from growing a preview card.
	UnfurlLinks *bool `json:"unfurl_links,omitempty"`
}

type block struct {
	Type     string `json:"type"`
	BlockID  string `json:"block_id,omitempty"`
	Text     *text  `json:"text,omitempty"`
	Elements []any  `json:"elements,omitempty"`
}

type text struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type button struct {
	Type     string `json:"type"`
	Text     text   `json:"text"`
	ActionID string `json:"action_id"`
	Value    string `json:"value,omitempty"`
	URL      string `json:"url,omitempty"`
	Style    string `json:"style,omitempty"`
}

// alertActionsBlockID names the block of an alert's buttons.
const alertActionsBlockID = "alert_actions"

func section(mrkdwn string) block {
	return block{Type: "section", Text: &text{Type: "mrkdwn", Text: truncate(mrkdwn, maxSectionText)}}
}

func contextBlock(mrkdwn ...string) block {
	b := block{Type: "context"}
	for _, s := range mrkdwn {
		b.Elements = append(b.Elements, text{Type: "mrkdwn", Text: truncate(s, maxContextText)})
	}
	return b
}

func newButton(label, actionID, value, url, style string) button {
	return button{
		Type: "button", Text: text{Type: "plain_text", Text: truncate(label, maxButtonText)},
		ActionID: actionID, Value: value, URL: url, Style: style,
	}
}

// escape makes s literal in Slack's mrkdwn, which reserves &, < and >.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// link formats label as a mrkdwn link to url, or plain when url is empty.
// label must already be escaped.
func link(url, label string) string {
	if url == "" {
		return label
	}
	url = strings.NewReplacer("|", "%7C", "<", "%3C", ">", "%3E").Replace(url)
	return "<" + url + "|" + label + ">"
}

// truncate shortens s to at most n runes, ending it with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// statusLabel names an alert status as people read it. It accepts the
// stored values (triggered, active, closed) and the message ones
// (acknowledged).
func statusLabel(status string) string {
	switch status {
	case "triggered", "":
		return "Unacknowledged"
	case "active", "acknowledged":
		return "Acknowledged"
	case "closed":
		return "Closed"
	}
	return status
}

// alertView is what an alert message shows; the same rendering serves the
// first post, status updates and the rewrite after a click.
type alertView struct {
	ID          int64
	Summary     string
	ServiceName string
	Status      string // triggered, active/acknowledged or closed
	LogEntry    string // quoted under the summary when set
	URL         string
	AppName     string
	Interactive bool
}

func (v alertView) text() string {
	s := fmt.Sprintf("Alert #%d: %s", v.ID, v.Summary)
	if v.LogEntry != "" {
		s += " (" + v.LogEntry + ")"
	}
	return escape(s)
}

func (v alertView) blocks() []block {
	id := strconv.FormatInt(v.ID, 10)
	blocks := []block{section(fmt.Sprintf("*#%s* %s", id, link(v.URL, escape(v.Summary))))}
	if v.LogEntry != "" {
		blocks = append(blocks, section("&gt; "+escape(strings.ReplaceAll(v.LogEntry, "\n", " "))))
	}
	var ctx []string
	if v.ServiceName != "" {
		ctx = append(ctx, "Service: *"+escape(v.ServiceName)+"*")
	}
	ctx = append(ctx, "Status: *"+statusLabel(v.Status)+"*")
	blocks = append(blocks, contextBlock(ctx...))
	if !v.Interactive {
		return blocks
	}
	var buttons []any
	switch v.Status {
	case "closed":
	case "active", "acknowledged":
		buttons = append(buttons, newButton("Close", ActionIDClose, id, "", "danger"))
	default:
		buttons = append(buttons,
			newButton("Acknowledge", ActionIDAcknowledge, id, "", "primary"),
			newButton("Close", ActionIDClose, id, "", "danger"))
	}
	if v.URL != "" {
		buttons = append(buttons, newButton("Open in "+v.AppName, ActionIDOpen, id, v.URL, ""))
	}
	if len(buttons) > 0 {
		blocks = append(blocks, block{Type: "actions", BlockID: alertActionsBlockID, Elements: buttons})
	}
	return blocks
}

// errUnsupportedKind is the refusal of a message kind Slack does not carry.
var errUnsupportedKind = errors.New("message kind not supported by Slack")

// render turns m into a Slack message without its channel.
func render(m notification.Message, interactive bool) (message, error) {
	app := appName(m.AppName)
	switch m.Kind {
	case notification.KindAlert, notification.KindAlertStatus:
		v := alertView{
			ID: m.AlertID, Summary: m.Summary, ServiceName: m.ServiceName, Status: "triggered",
			URL: m.AlertURL, AppName: app, Interactive: interactive,
		}
		if m.Kind == notification.KindAlertStatus {
			v.Status, v.LogEntry = m.NewStatus, m.LogEntry
		}
		return message{Text: v.text(), Blocks: v.blocks()}, nil
	case notification.KindAlertBundle:
		s := fmt.Sprintf("Service '%s' has %d unacknowledged alerts.", m.ServiceName, m.Count)
		return message{Text: escape(s), Blocks: []block{section(link(m.AlertURL, escape(s)))}}, nil
	case notification.KindTest:
		s := "This is a test message from " + app + "."
		return message{Text: escape(s), Blocks: []block{section(escape(s))}}, nil
	case notification.KindVerification:
		s := app + " verification code: " + m.Code
		return message{Text: escape(s), Blocks: []block{section(escape(app) + " verification code: *" + escape(m.Code) + "*")}}, nil
	case notification.KindOnCallUsers:
		return renderOnCall(m), nil
	}
	return message{}, fmt.Errorf("%w: %q", errUnsupportedKind, m.Kind)
}

func renderOnCall(m notification.Message) message {
	if len(m.OnCall) == 0 {
		s := "No users are on-call for " + m.ScheduleName + "."
		return message{Text: escape(s), Blocks: []block{
			section("No users are on-call for " + link(m.ScheduleURL, "*"+escape(m.ScheduleName)+"*") + "."),
		}}
	}
	names := make([]string, len(m.OnCall))
	lines := make([]string, len(m.OnCall))
	for i, u := range m.OnCall {
		names[i] = u.Name
		lines[i] = "• " + link(u.URL, escape(u.Name))
	}
	s := "Users on-call for " + m.ScheduleName + ": " + strings.Join(names, ", ")
	return message{Text: escape(s), Blocks: []block{
		section("Users on-call for " + link(m.ScheduleURL, "*"+escape(m.ScheduleName)+"*") + ":"),
		section(strings.Join(lines, "\n")),
	}}
}
