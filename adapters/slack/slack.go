// Package slack carries notifications to Slack and takes alert actions back
// from it, on GoAlert's wire surface.
//
// Outbound, Sender posts each message with the Web API's chat.postMessage
// to a channel (builtin-slack-channel, an escalation policy target or an
// on-call notification) or to a user's direct messages (builtin-slack-dm,
// a contact method). Alert messages carry Acknowledge and Close buttons
// when Slack.InteractiveMessages is on.
//
// Inbound, Handler serves the app's interactivity request URL,
// POST /api/v2/slack/message-action: it checks Slack's request signature,
// acts on the alert through a Backend the app implements, and rewrites the
// clicked message through the payload's response_url.
package slack

import "strings"

// DefaultBaseURL is the Slack API's origin when Config.BaseURL is empty.
const DefaultBaseURL = "https://slack.com"

// Config is the Slack configuration in force for one send or one request.
// The app builds it from the admin config (Slack.Enable,
// Slack.AccessToken, Slack.SigningSecret, Slack.InteractiveMessages),
// General.ApplicationName and the command-line flags, and the package
// reads it anew every time, so a change applies at once.
type Config struct {
	// Enable is Slack.Enable: with it off, nothing is sent and clicks are
	// answered without acting.
	Enable bool
	// AccessToken is the bot token (xoxb-…) sent as a bearer token.
	AccessToken string
	// SigningSecret verifies the requests Slack sends to Handler.
	SigningSecret string
	// InteractiveMessages adds Acknowledge and Close buttons to alert
	// messages and lets Handler act on clicks.
	InteractiveMessages bool
	// BaseURL is --slack-base-url; empty means DefaultBaseURL.
	BaseURL string
	// PublicURL is --public-url; Handler links updated messages to
	// <PublicURL>/alerts/<id>. Empty means no link.
	PublicURL string
	// AppName is General.ApplicationName; empty means "GoAlert".
	AppName string
}

func (c Config) apiURL(method string) string {
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	return strings.TrimRight(base, "/") + "/api/" + method
}

func (c Config) alertURL(id string) string {
	if c.PublicURL == "" {
		return ""
	}
	return strings.TrimRight(c.PublicURL, "/") + "/alerts/" + id
}

func (c Config) appName() string { return appName(c.AppName) }

func appName(name string) string {
	if name == "" {
		return "GoAlert"
	}
	return name
}

// Block Kit action ids of the buttons on alert messages. Slack sends them
// back in the interaction payload, so they are part of the wire surface.
const (
	ActionIDAcknowledge = "action_alert_ack"
	ActionIDClose       = "action_alert_close"
	// ActionIDOpen is the link button; Slack reports its clicks too, and
	// they need nothing done.
	ActionIDOpen = "action_open_alert"
)

// MessageActionPath is the interactivity request URL's path.
const MessageActionPath = "/api/v2/slack/message-action"
