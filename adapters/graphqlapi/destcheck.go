package graphqlapi

import (
	"net/url"
	"strings"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/notification"
	"github.com/oncallhq/goalert/events"
)

// destSwitches are the admin config settings that enable each destination
// type, and its name for people.
var destSwitches = map[string]struct{ setting, name string }{
	notification.DestSMS:          {"Twilio.Enable", "SMS"},
	notification.DestVoice:        {"Twilio.Enable", "Voice"},
	notification.DestEmail:        {"SMTP.Enable", "Email"},
	notification.DestWebhook:      {"Webhook.Enable", "Webhook"},
	notification.DestSlackDM:      {"Slack.Enable", "Slack"},
	notification.DestSlackChannel: {"Slack.Enable", "Slack"},
}

// checkDests refuses destinations whose provider an admin has not enabled,
// and webhook URLs outside Webhook.AllowedURLs, so that nothing is set up
// that could never be sent to.
func (r *resolver) checkDests(ds ...events.Dest) error {
	if r.d.Config == nil {
		return nil
	}
	cfg := r.d.Config.Current()
	for _, d := range ds {
		sw, ok := destSwitches[d.Type]
		if !ok {
			continue
		}
		if !cfg.Bool(sw.setting) {
			return domain.FieldErrorf("dest", "%s is disabled by the administrator (%s)", sw.name, sw.setting)
		}
		if d.Type == notification.DestWebhook {
			if allowed := cfg.Strings("Webhook.AllowedURLs"); len(allowed) > 0 && !urlAllowed(d.Args[notification.ArgWebhookURL], allowed) {
				return domain.FieldError("dest", "this webhook URL is not allowed by the administrator (Webhook.AllowedURLs)")
			}
		}
	}
	return nil
}

// urlAllowed reports whether raw starts with one of allowed, comparing
// scheme and host exactly (case aside) and the path as a prefix, so that
// https://hooks.example.com does not allow https://hooks.example.com.evil.test.
func urlAllowed(raw string, allowed []string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	for _, a := range allowed {
		p, err := url.Parse(a)
		if err != nil || !strings.EqualFold(p.Scheme, u.Scheme) || !strings.EqualFold(p.Host, u.Host) || u.User != nil {
			continue
		}
		if strings.HasPrefix(u.RequestURI(), p.RequestURI()) || p.Path == "" {
			return true
		}
	}
	return false
}
