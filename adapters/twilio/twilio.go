// Package twilio carries SMS and voice notifications through Twilio and
// serves Twilio's callbacks: replies to alert SMS ('1a' acknowledges alert
// code 1), key presses during alert calls, and delivery status reports.
//
// Outbound, Sender posts to Twilio's REST API (Messages.json, Calls.json)
// with the account SID and auth token as basic auth. Inbound, Handler serves
// GoAlert's four callback paths under /api/v2/twilio/ and acts through a
// Backend the application implements; it refuses, with 403 and no effect,
// any request whose X-Twilio-Signature is not Twilio's signature under the
// configured auth token.
//
// The texts people read or hear (the alert SMS, the reply answers, the call
// menu) follow GoAlert's, so that phones and habits carry over.
package twilio

import "strings"

// Config is the Twilio part of the admin config, with the base URLs that
// come from the command line. Sender and Handler read it on every request,
// so a change applies to the next message.
type Config struct {
	// Enable is Twilio.Enable. While it is off nothing is sent and every
	// callback is refused.
	Enable bool
	// AccountSID and AuthToken authenticate our requests to Twilio; the
	// token also verifies Twilio's requests to us.
	AccountSID string
	AuthToken  string
	// FromNumber is the number SMS and calls come from, in E.164 form.
	FromNumber string
	// MessagingServiceSID, when set, sends SMS through that messaging
	// service instead of FromNumber. Calls always come from FromNumber.
	MessagingServiceSID string
	// DisableTwoWaySMS leaves reply instructions out of alert SMS and
	// answers every reply with a pointer to the dashboard.
	DisableTwoWaySMS bool
	// DisableSMSLinks leaves links out of SMS.
	DisableSMSLinks bool
	// BaseURL is Twilio's API (--twilio-base-url); empty means
	// DefaultBaseURL.
	BaseURL string
	// PublicURL is where Twilio reaches this server (--public-url), e.g.
	// https://goalert.example.com. Callback URLs are built on it, and
	// Twilio's signatures are checked against it.
	PublicURL string
	// AppName is General.ApplicationName; empty means the message's own
	// AppName, or "GoAlert".
	AppName string
}

// DefaultBaseURL is Twilio's production API.
const DefaultBaseURL = "https://api.twilio.com"

// Paths of Twilio's callbacks, relative to the public URL.
const (
	PathMessage       = "/api/v2/twilio/message"
	PathMessageStatus = "/api/v2/twilio/message/status"
	PathCall          = "/api/v2/twilio/call"
	PathCallStatus    = "/api/v2/twilio/call/status"
)

func (c Config) baseURL() string {
	if c.BaseURL == "" {
		return DefaultBaseURL
	}
	return strings.TrimRight(c.BaseURL, "/")
}

// publicURL returns the public URL of path (which may carry a query).
func (c Config) publicURL(path string) string {
	return strings.TrimRight(c.PublicURL, "/") + path
}

// appName returns the application name to show, preferring the config,
// then the message's, then GoAlert's.
func (c Config) appName(msgAppName string) string {
	switch {
	case c.AppName != "":
		return c.AppName
	case msgAppName != "":
		return msgAppName
	}
	return "GoAlert"
}

// SupportsReplies reports whether SMS to number can be answered: some
// countries' carriers do not deliver replies to a Twilio number (India,
// China, Guatemala, Costa Rica, Panama, Vietnam), so alert SMS to them carry
// no reply code. The application can skip allocating a code for them.
func SupportsReplies(number string) bool {
	return !hasAnyPrefix(number, "+91", "+86", "+502", "+506", "+507", "+84")
}

// supportsLinks reports whether SMS to number may contain a URL; carriers
// in China drop messages with links.
func supportsLinks(number string) bool { return !hasAnyPrefix(number, "+86") }

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
