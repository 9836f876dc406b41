package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/oncallhq/goalert/adapters/email"
	"github.com/oncallhq/goalert/adapters/slack"
	"github.com/oncallhq/goalert/adapters/twilio"
	"github.com/oncallhq/goalert/adapters/webhook"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/commands/engine"
	"github.com/oncallhq/goalert/domain/notification"
)

// newPager builds the paging engine with a sender per destination type.
// With --stub-notifiers every sender succeeds without sending anything.
func (a *App) newPager() *engine.Engine {
	client := &http.Client{Timeout: 15 * time.Second}
	tw := twilio.NewSender(a.twilioConfig, client)
	sl := slack.NewSender(a.slackConfig, client)
	senders := map[string]notification.Sender{
		notification.DestWebhook:      webhook.New(a.webhookConfig, client),
		notification.DestSMS:          tw,
		notification.DestVoice:        tw,
		notification.DestEmail:        email.New(a.emailConfig),
		notification.DestSlackDM:      sl,
		notification.DestSlackChannel: sl,
	}
	if a.cfg.StubNotifiers {
		succeed := notification.SenderFunc(func(ctx context.Context, m notification.Message) (notification.Status, error) {
			return notification.Status{State: notification.StateDelivered, ProviderID: "not-sent-" + m.ID,
				Detail: "not sent (--stub-notifiers)"}, nil
		})
		for t := range senders {
			senders[t] = succeed
		}
	}
	return engine.New(engine.Config{
		Commands: a.Commands, Clock: a.cfg.Clock, Log: a.log.With("component", "engine"),
		Senders: senders, Render: a.render,
		// Webhook requests carry the message id as an idempotency key.
		Idempotent: func(t string) bool { return t == notification.DestWebhook },
		Region:     a.cfg.RegionName,
		Bundles:    func() bool { return !a.settings.Current().Bool("General.DisableMessageBundles") },
	})
}

func (a *App) appName() string {
	if n := a.settings.Current().String("General.ApplicationName"); n != "" {
		return n
	}
	return "GoAlert"
}

// linkBase is where message links point: General.ShortURL, or the public
// URL.
func (a *App) linkBase() string {
	if s := a.settings.Current().String("General.ShortURL"); s != "" {
		return strings.TrimSuffix(s, "/")
	}
	return strings.TrimSuffix(a.cfg.PublicURL, "/")
}

func (a *App) webhookConfig() webhook.Config {
	v := a.settings.Current()
	return webhook.Config{Enable: v.Bool("Webhook.Enable"), AllowedURLs: v.Strings("Webhook.AllowedURLs"),
		PublicURL: strings.TrimSuffix(a.cfg.PublicURL, "/"), AppName: a.appName()}
}

// render turns a queued message into what providers send.
func (a *App) render(ctx context.Context, m commands.Message) (notification.Message, error) {
	p := m.Payload
	msg := notification.Message{
		ID: m.ID, Kind: m.Kind, Dest: m.Dest, AppName: a.appName(),
		UserID: m.UserID, UserName: p["user_name"], Code: p["code"],
		AlertID: m.AlertID, Summary: p["summary"], Details: p["details"],
		ServiceID: m.ServiceID, ServiceName: p["service_name"],
		NewStatus: p["status"], LogEntry: p["log"], CreatedAt: m.DueAt,
	}
	for k, v := range p {
		if name, ok := strings.CutPrefix(k, "meta."); ok {
			if msg.Meta == nil {
				msg.Meta = map[string]string{}
			}
			msg.Meta[name] = v
		}
	}
	if m.Kind == notification.KindOnCallUsers {
		msg.ScheduleID, msg.ScheduleName = p["schedule_id"], p["schedule_name"]
		var users []struct{ ID, Name string }
		if err := json.Unmarshal([]byte(p["users"]), &users); err != nil {
			return msg, err
		}
		base := a.linkBase()
		if base != "" {
			msg.ScheduleURL = base + "/schedules/" + msg.ScheduleID
		}
		msg.OnCall = []notification.OnCallUser{}
		for _, u := range users {
			ou := notification.OnCallUser{ID: u.ID, Name: u.Name}
			if base != "" {
				ou.URL = base + "/users/" + u.ID
			}
			msg.OnCall = append(msg.OnCall, ou)
		}
	}
	if base := a.linkBase(); base != "" && m.AlertID != 0 {
		msg.AlertURL = base + "/alerts/" + strconv.FormatInt(m.AlertID, 10)
	}
	if m.Kind == notification.KindAlertBundle {
		msg.AlertID = 0
		msg.Count, _ = strconv.Atoi(p["count"])
		if base := a.linkBase(); base != "" {
			msg.AlertURL = base + "/services/" + m.ServiceID + "/alerts"
		}
		if m.Dest.Type == notification.DestSMS && !a.settings.Current().Bool("Twilio.DisableTwoWaySMS") {
			code, err := a.Commands.SMSBundleCode(ctx, m.Dest.Arg(notification.ArgPhoneNumber), m.ServiceID)
			if err != nil {
				return msg, err
			}
			msg.ReplyCode = code
		}
		return msg, nil
	}
	if m.Dest.Type == notification.DestSMS && m.AlertID != 0 && (m.Kind == notification.KindAlert || m.Kind == notification.KindAlertStatus) {
		cfg := a.settings.Current()
		if !cfg.Bool("Twilio.DisableTwoWaySMS") && m.Kind == notification.KindAlert {
			code, err := a.Commands.SMSReplyCode(ctx, m.Dest.Arg(notification.ArgPhoneNumber), m.AlertID)
			if err != nil {
				return msg, err
			}
			msg.ReplyCode = code
		}
		if cfg.Bool("General.DisableSMSLinks") {
			msg.AlertURL = ""
		}
	}
	return msg, nil
}

func (a *App) twilioConfig() twilio.Config {
	v := a.settings.Current()
	return twilio.Config{
		Enable: v.Bool("Twilio.Enable"), AccountSID: v.String("Twilio.AccountSID"), AuthToken: v.String("Twilio.AuthToken"),
		FromNumber: v.String("Twilio.FromNumber"), MessagingServiceSID: v.String("Twilio.MessagingServiceSID"),
		DisableTwoWaySMS: v.Bool("Twilio.DisableTwoWaySMS"), DisableSMSLinks: v.Bool("General.DisableSMSLinks"),
		BaseURL: a.cfg.TwilioBaseURL, PublicURL: strings.TrimSuffix(a.cfg.PublicURL, "/"), AppName: a.appName(),
	}
}

func (a *App) slackConfig() slack.Config {
	v := a.settings.Current()
	return slack.Config{
		Enable: v.Bool("Slack.Enable"), AccessToken: v.String("Slack.AccessToken"), SigningSecret: v.String("Slack.SigningSecret"),
		InteractiveMessages: v.Bool("Slack.InteractiveMessages"), BaseURL: a.cfg.SlackBaseURL,
		PublicURL: strings.TrimSuffix(a.cfg.PublicURL, "/"), AppName: a.appName(),
	}
}

// PagerCycles counts the paging engine's completed passes; 0 with
// --api-only.
func (a *App) PagerCycles() int64 {
	if a.pager == nil {
		return 0
	}
	return a.pager.Cycles()
}

// WakePager makes the paging engine look for work now.
func (a *App) WakePager() {
	if a.pager != nil {
		a.pager.Wake()
	}
}

func (a *App) emailConfig() email.Config {
	v := a.settings.Current()
	return email.Config{
		Enable: v.Bool("SMTP.Enable"), From: v.String("SMTP.From"), Address: v.String("SMTP.Address"),
		Username: v.String("SMTP.Username"), Password: v.String("SMTP.Password"), DisableTLS: v.Bool("SMTP.DisableTLS"),
		PublicURL: strings.TrimSuffix(a.cfg.PublicURL, "/"), AppName: a.appName(), TLSConfig: a.cfg.SMTPRelayTLS,
	}
}

// PagerSender reports whether this instance sends its region's messages.
func (a *App) PagerSender() bool { return a.pager != nil && a.pager.Sender() }
