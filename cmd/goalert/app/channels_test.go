package app_test

// Black-box tests of the notification channels against in-repo fakes on
// loopback: Twilio (SMS, voice, inbound replies), an SMTP relay, Slack.

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oncallhq/goalert/adapters/email/emailtest"
	"github.com/oncallhq/goalert/adapters/slack/slacktest"
	"github.com/oncallhq/goalert/adapters/twilio/twiliotest"
	"github.com/oncallhq/goalert/cmd/goalert/app"
	"github.com/oncallhq/goalert/cmd/goalert/app/apptest"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain/notification"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/events"
)

const phone = "+15555550123"

// twilioEnv is a paging server whose Twilio provider is the fake.
func twilioEnv(t *testing.T) (*pagingEnv, *twiliotest.Server) {
	t.Helper()
	fake := twiliotest.NewServer(t, twiliotest.AccountSID, "twilio-auth-token")
	env := newPagingEnv(t, apptest.PublicURL(), func(c *app.Config) { c.TwilioBaseURL = fake.URL })
	setConfig(t, env.h, env.admin.Token, "Twilio.Enable", "true", "Twilio.AccountSID", fake.AccountSID,
		"Twilio.AuthToken", fake.AuthToken, "Twilio.FromNumber", twiliotest.FromNumber)
	return env, fake
}

// phoneUser creates a user with a verified contact method of destType at
// phone; the code is read from the fake (an SMS, or the call's script).
func phoneUser(t *testing.T, env *pagingEnv, fake *twiliotest.Server, destType string) string {
	t.Helper()
	ctx := context.Background()
	h := env.h
	uid, _, err := h.Commands.CreateUser(ctx, commands.CreateUser{Name: "Pat", Role: user.RoleUser})
	if err != nil {
		t.Fatal(err)
	}
	cm, _, err := h.Commands.AddContactMethod(ctx, commands.NewContactMethod{UserID: uid, Name: "phone",
		Dest: notification.Dest{Type: destType, Args: map[string]string{notification.ArgPhoneNumber: phone}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Commands.SendVerification(ctx, uid, cm); err != nil {
		t.Fatal(err)
	}
	var code string
	if destType == notification.DestSMS {
		code = regexp.MustCompile(`\d{6}`).FindString(fake.ExpectSMS(t, phone, "erification").Body)
	} else {
		call := fake.ExpectCall(t, phone)
		spoken := twiliotest.ParseTwiML(t, twiliotest.PressKey(t, h.URL, h.URL, fake.AuthToken, call, "", "")).Spoken()
		code = strings.Join(regexp.MustCompile(`\d`).FindAllString(spoken, -1), "")
		if len(code) > 6 {
			code = code[len(code)-6:]
		}
	}
	if _, err := h.Commands.VerifyContactMethod(ctx, uid, cm, code); err != nil {
		t.Fatalf("verify with %q: %v", code, err)
	}
	if _, _, err := h.Commands.AddNotificationRule(ctx, uid, cm, 0); err != nil {
		t.Fatal(err)
	}
	return uid
}

func TestChannels_smsPageAndReply(t *testing.T) {
	env, fake := twilioEnv(t)
	h := env.h
	uid := phoneUser(t, env, fake, notification.DestSMS)
	h.Clock.Advance(time.Minute) // at most one SMS a minute to a number
	_, key := env.service(t, "SMS svc", env.policy(t, "SMS", 0, step(10, uid)))
	g := trigger(t, h, key, "Database down", "")
	sms := fake.ExpectSMS(t, phone, "Alert #", "Database down", "Reply '1a' to ack")

	// A reply with a bad signature changes nothing.
	status, _ := twiliotest.PostBadSignature(t, h.URL, h.URL, "/api/v2/twilio/message",
		map[string][]string{"From": {phone}, "To": {sms.From}, "Body": {"1a"}})
	if status != 403 {
		t.Fatalf("reply with a bad signature: got %d, want 403", status)
	}
	if a := getAlert(t, h, env.admin.Token, g.AlertID); a.Status != "StatusUnacknowledged" {
		t.Fatalf("a forged reply changed the alert: %s", a.Status)
	}

	answer := twiliotest.ParseTwiML(t, twiliotest.SendSMS(t, h.URL, h.URL, fake.AuthToken, phone, sms.From, "1a"))
	if len(answer.Messages) != 1 || !strings.Contains(answer.Messages[0], "Acknowledged") {
		t.Fatalf("answer to 1a: got %+v", answer)
	}
	a := getAlert(t, h, env.admin.Token, g.AlertID)
	if a.Status != "StatusAcknowledged" {
		t.Fatalf("after 1a: alert is %s", a.Status)
	}
	if msgs := strings.Join(a.messages(), "\n"); !strings.Contains(msgs, "Acknowledged by Pat (SMS)") {
		t.Errorf("alert log lacks the SMS acknowledgement:\n%s", msgs)
	}
	answer = twiliotest.ParseTwiML(t, twiliotest.SendSMS(t, h.URL, h.URL, fake.AuthToken, phone, sms.From, "1c"))
	if len(answer.Messages) != 1 || !strings.Contains(answer.Messages[0], "Closed") {
		t.Fatalf("answer to 1c: got %+v", answer)
	}
	if a := getAlert(t, h, env.admin.Token, g.AlertID); a.Status != "StatusClosed" {
		t.Fatalf("after 1c: alert is %s", a.Status)
	}

	// STOP disables the number: the next page sends nothing.
	twiliotest.SendSMS(t, h.URL, h.URL, fake.AuthToken, phone, sms.From, "stop")
	before := len(fake.Messages())
	trigger(t, h, key, "after stop", "")
	env.idle(t)
	if n := len(fake.Messages()); n != before {
		t.Fatalf("an SMS went to a stopped number: %d messages, had %d", n, before)
	}
}

func TestChannels_voicePressFourAcknowledges(t *testing.T) {
	env, fake := twilioEnv(t)
	h := env.h
	uid := phoneUser(t, env, fake, notification.DestVoice)
	env.h.Clock.Advance(time.Minute)
	_, key := env.service(t, "Voice svc", env.policy(t, "Voice", 0, step(10, uid)))
	g := trigger(t, h, key, "Web tier down", "")
	var call twiliotest.Call
	deadline := time.Now().Add(10 * time.Second)
	for call.SID == "" && time.Now().Before(deadline) {
		for _, c := range fake.Calls() {
			if strings.Contains(c.URL, "type=alert") {
				call = c
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if call.SID == "" {
		t.Fatalf("no alert call; calls: %+v", fake.Calls())
	}
	menu := twiliotest.ParseTwiML(t, twiliotest.PressKey(t, h.URL, h.URL, fake.AuthToken, call, "", ""))
	if !strings.Contains(menu.Spoken(), "Web tier down") || menu.Gather == nil {
		t.Fatalf("call script: got %+v", menu)
	}
	said := twiliotest.ParseTwiML(t, twiliotest.PressKey(t, h.URL, h.URL, fake.AuthToken, call, menu.Gather.Action, "4"))
	if !strings.Contains(strings.ToLower(said.Spoken()), "acknowledged") {
		t.Fatalf("after pressing 4: call says %q", said.Spoken())
	}
	if a := getAlert(t, h, env.admin.Token, g.AlertID); a.Status != "StatusAcknowledged" {
		t.Fatalf("after pressing 4: alert is %s", a.Status)
	}
}

func TestChannels_emailPage(t *testing.T) {
	relay := emailtest.NewServer(t, emailtest.Options{StartTLS: true})
	env := newPagingEnv(t, func(c *app.Config) { c.SMTPRelayTLS = relay.TLSConfig() })
	h := env.h
	setConfig(t, h, env.admin.Token, "SMTP.Enable", "true", "SMTP.From", "goalert@example.com", "SMTP.Address", relay.Addr())
	ctx := context.Background()
	uid, _, err := h.Commands.CreateUser(ctx, commands.CreateUser{Name: "Mel", Role: user.RoleUser})
	if err != nil {
		t.Fatal(err)
	}
	cm, _, err := h.Commands.AddContactMethod(ctx, commands.NewContactMethod{UserID: uid, Name: "mail",
		Dest: notification.Dest{Type: notification.DestEmail, Args: map[string]string{notification.ArgEmailAddress: "mel@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Commands.SendVerification(ctx, uid, cm); err != nil {
		t.Fatal(err)
	}
	msg := relay.Next(t, 10*time.Second)
	p, err := msg.Parse()
	if err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile(`\d{6}`).FindString(p.Text())
	if _, err := h.Commands.VerifyContactMethod(ctx, uid, cm, code); err != nil {
		t.Fatalf("verify with %q: %v", code, err)
	}
	if _, _, err := h.Commands.AddNotificationRule(ctx, uid, cm, 0); err != nil {
		t.Fatal(err)
	}
	h.Clock.Advance(time.Minute)
	_, key := env.service(t, "Mail svc", env.policy(t, "Mail", 0, step(10, uid)))
	trigger(t, h, key, "Queue backlog", "")
	page := relay.Next(t, 10*time.Second)
	if !page.ToContains("mel@example.com") || !strings.Contains(string(page.Data), "Queue backlog") {
		t.Fatalf("page email: to %v:\n%s", page.To, page.Data)
	}
}

func TestChannels_slackChannelAndCloseButton(t *testing.T) {
	fake := slacktest.NewServer(t, "xoxb-test")
	env := newPagingEnv(t, func(c *app.Config) { c.SlackBaseURL = fake.URL })
	h := env.h
	setConfig(t, h, env.admin.Token, "Slack.Enable", "true", "Slack.ClientID", "client-id", "Slack.ClientSecret", "client-secret",
		"Slack.AccessToken", "xoxb-test",
		"Slack.SigningSecret", "slack-signing-secret", "Slack.InteractiveMessages", "true")
	ctx := context.Background()
	// The person clicking is known by their Slack DM contact method.
	uid, _, err := h.Commands.CreateUser(ctx, commands.CreateUser{Name: "Sam", Role: user.RoleUser})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.Commands.AddContactMethod(ctx, commands.NewContactMethod{UserID: uid, Name: "slack",
		Dest: notification.Dest{Type: notification.DestSlackDM, Args: map[string]string{notification.ArgSlackUserID: "U0SAM0001"}}}); err != nil {
		t.Fatal(err)
	}
	ep := env.policy(t, "Slack", 0, commands.NewStep{DelayMinutes: 10, Actions: []events.Dest{{Type: notification.DestSlackChannel,
		Args: map[string]string{notification.ArgSlackChannelID: "C0OPS0001"}}}})
	_, key := env.service(t, "Slack svc", ep)
	g := trigger(t, h, key, "API errors", "")
	msg := fake.WaitForMessage(t, func(m slacktest.Message) bool { return m.Channel == "C0OPS0001" })
	if _, ok := msg.Button("action_alert_close"); !ok || !strings.Contains(msg.BlockText()+msg.Text, "API errors") {
		t.Fatalf("channel message: %s", msg.Raw)
	}
	if code := slacktest.ClickButtonBadSignature(t, h.URL, "slack-signing-secret", "T1", "U0SAM0001", "action_alert_close", g.AlertID, fake.ResponseURL()); code != 401 {
		t.Fatalf("click with a bad signature: got %d, want 401", code)
	}
	if code := slacktest.ClickButton(t, h.URL, "slack-signing-secret", "T1", "U0SAM0001", "action_alert_close", g.AlertID, fake.ResponseURL()); code != 200 {
		t.Fatalf("click: got %d, want 200", code)
	}
	a := getAlert(t, h, env.admin.Token, g.AlertID)
	if a.Status != "StatusClosed" {
		t.Fatalf("after the Close button: alert is %s", a.Status)
	}
	if msgs := strings.Join(a.messages(), "\n"); !strings.Contains(msgs, "Closed by Sam (Slack)") {
		t.Errorf("alert log lacks the Slack close:\n%s", msgs)
	}
}

func TestChannels_smsBundle(t *testing.T) {
	env, fake := twilioEnv(t)
	h := env.h
	uid := phoneUser(t, env, fake, notification.DestSMS)
	h.Clock.Advance(time.Minute)
	svc, key := env.service(t, "Bundled", env.policy(t, "Bundle", 0, step(10, uid)))
	_ = svc
	// Three alerts at once: the first is paged at once; the number may get
	// one SMS a minute, so the next one tells of all three, instead of one
	// SMS a minute for each.
	for _, s := range []string{"disk", "cpu", "memory"} {
		trigger(t, h, key, s+" alarm", "")
	}
	// (How many the first SMS covers depends on how far the engine got
	// before the other triggers arrived.)
	env.idle(t)
	var first string
	for deadline := time.Now().Add(10 * time.Second); first == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, m := range fake.Messages() {
			if strings.Contains(m.Body, "Alert #") || strings.Contains(m.Body, "unacked alerts") {
				first = m.Body
				break
			}
		}
	}
	if first == "" {
		t.Fatalf("no page SMS; got %+v", fake.Messages())
	}
	if !strings.Contains(first, "unacked alerts") {
		h.Clock.Advance(time.Minute)
		env.idle(t)
	}
	sms := fake.ExpectSMS(t, phone, "Svc 'Bundled': 3 unacked alerts", "100aa")
	before := len(fake.Messages())
	h.Clock.Advance(10 * time.Second)
	env.idle(t)
	if n := len(fake.Messages()); n != before {
		t.Fatalf("after the bundle: %d more SMS", n-before)
	}
	answer := twiliotest.ParseTwiML(t, twiliotest.SendSMS(t, h.URL, h.URL, fake.AuthToken, phone, sms.From, "100aa"))
	if len(answer.Messages) != 1 || !strings.Contains(answer.Messages[0], "Bundled") {
		t.Fatalf("answer to 100aa: got %+v", answer)
	}
	for _, a := range serviceAlerts(t, h, env.admin.Token, svc) {
		if a.Status != "StatusAcknowledged" {
			t.Errorf("alert %q after 100aa: %s", a.Summary, a.Status)
		}
		if msgs := strings.Join(a.messages(), "\n"); !strings.Contains(msgs, "Notification sent to Pat (SMS)") {
			t.Errorf("alert %q log lacks the bundled notification:\n%s", a.Summary, msgs)
		}
	}
}
