package app_test

// Black-box tests of the GraphQL API for paging configuration (COMPAT §3,
// §7): contact methods and their verification, notification rules,
// escalation policies and steps, heartbeat monitors, and an alert's
// escalation state, through the real server with webhooks delivered to a
// receiver on loopback.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/oncallhq/goalert/adapters/webhook/webhooktest"
	"github.com/oncallhq/goalert/cmd/goalert/app/apptest"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain/user"
)

// pagingAPI is a server with webhooks enabled, a webhook receiver and an
// admin.
type pagingAPI struct {
	h     *apptest.Harness
	admin account
	sink  *webhooktest.Server
}

func newPagingAPI(t *testing.T) *pagingAPI {
	t.Helper()
	h := apptest.New(t)
	p := &pagingAPI{h: h, sink: webhooktest.NewServer(t)}
	p.admin = newAccount(t, h, "Admin Ann", "ann", user.RoleAdmin)
	setConfig(t, h, p.admin.Token, "Webhook.Enable", "true",
		"Twilio.Enable", "true", "Twilio.AccountSID", "AC0123", "Twilio.AuthToken", "token", "Twilio.FromNumber", "+15005550006",
		"SMTP.Enable", "true", "SMTP.From", "goalert@example.com", "SMTP.Address", "127.0.0.1:1",
		"Slack.Enable", "true", "Slack.ClientID", "client-id", "Slack.ClientSecret", "client-secret",
		"Slack.AccessToken", "xoxb-test", "Slack.SigningSecret", "signing-secret")
	return p
}

// message waits for the webhook message of type typ at path that comes
// after the first skip such messages there.
func (p *pagingAPI) message(t *testing.T, path, typ string, skip int) webhooktest.Request {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := 0
		for _, r := range p.sink.Distinct() {
			if r.Path == path && r.Type() == typ {
				if n == skip {
					return r
				}
				n++
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s message #%d reached %s within 10s (got %d)", typ, skip+1, path, n)
		}
		p.h.WakePager()
		time.Sleep(5 * time.Millisecond)
	}
}

// count is the number of distinct webhook messages of type typ at path.
func (p *pagingAPI) count(path, typ string) int {
	n := 0
	for _, r := range p.sink.Distinct() {
		if r.Path == path && r.Type() == typ {
			n++
		}
	}
	return n
}

// gqlContactMethod is what GraphQL shows of a contact method.
type gqlContactMethod struct {
	ID               string
	Name             string
	Type             *string
	Value            string
	FormattedValue   string
	Disabled         bool
	Pending          bool
	StatusUpdates    string
	LastTestVerifyAt *string
	Dest             struct {
		Type   string
		Args   map[string]string
		Values []struct{ FieldID, Value string }
		Info   struct{ Text, IconAltText, LinkURL string } `json:"displayInfo"`
	}
}

const cmFieldsGQL = `id name type value formattedValue disabled pending statusUpdates lastTestVerifyAt
	dest { type args values { fieldID value } displayInfo { text iconAltText linkURL } }`

const createCMMutation = `mutation($in: CreateUserContactMethodInput!) { createUserContactMethod(input: $in) { ` + cmFieldsGQL + ` } }`

// createCM creates a contact method as the holder of token.
func (p *pagingAPI) createCM(t *testing.T, token string, in map[string]any) gqlContactMethod {
	t.Helper()
	var out struct{ CreateUserContactMethod *gqlContactMethod }
	mustGQL(t, p.h, token, createCMMutation, map[string]any{"in": in}, &out)
	if out.CreateUserContactMethod == nil {
		t.Fatalf("createUserContactMethod %v: got null, want the contact method", in)
	}
	return *out.CreateUserContactMethod
}

func (p *pagingAPI) readCM(t *testing.T, token, id string) *gqlContactMethod {
	t.Helper()
	var out struct{ UserContactMethod *gqlContactMethod }
	mustGQL(t, p.h, token, `query($id: ID!) { userContactMethod(id: $id) { `+cmFieldsGQL+` } }`, map[string]any{"id": id}, &out)
	return out.UserContactMethod
}

// verifyCM sends a verification code to a webhook contact method at path
// and verifies it with the code the receiver got.
func (p *pagingAPI) verifyCM(t *testing.T, token, cmID, path string) {
	t.Helper()
	sent := p.count(path, "Verification")
	mustGQL(t, p.h, token, `mutation($id: ID!) { sendContactMethodVerification(input: {contactMethodID: $id}) }`, map[string]any{"id": cmID}, nil)
	code, err := strconv.Atoi(p.message(t, path, "Verification", sent).String("Code"))
	if err != nil {
		t.Fatalf("verification code at %s: %v", path, err)
	}
	mustGQL(t, p.h, token, `mutation($id: ID!, $code: Int!) { verifyContactMethod(input: {contactMethodID: $id, code: $code}) }`,
		map[string]any{"id": cmID, "code": code}, nil)
}

func TestGraphQL_ContactMethods(t *testing.T) {
	t.Parallel()
	p := newPagingAPI(t)
	h := p.h
	bob := newAccount(t, h, "Bob", "bob", user.RoleUser)
	carol := newAccount(t, h, "Carol", "carol", user.RoleUser)
	hook := p.sink.URL + "/bob"

	cm := p.createCM(t, bob.Token, map[string]any{
		"userID": bob.ID, "name": "Bob's hook",
		"dest":                    map[string]any{"type": "builtin-webhook", "args": map[string]string{"webhook_url": hook}},
		"newUserNotificationRule": map[string]any{"delayMinutes": 0},
	})
	t.Run("created disabled, in both shapes", func(t *testing.T) {
		if !cm.Disabled || !cm.Pending {
			t.Errorf("new contact method: got disabled %v pending %v, want both true until verified", cm.Disabled, cm.Pending)
		}
		if cm.Type == nil || *cm.Type != "WEBHOOK" || cm.Value != hook || cm.Name != "Bob's hook" || cm.StatusUpdates != "DISABLED" {
			t.Errorf("new contact method: got %+v, want a WEBHOOK named Bob's hook with value %s and status updates off", cm, hook)
		}
		if cm.Dest.Type != "builtin-webhook" || cm.Dest.Args["webhook_url"] != hook || len(cm.Dest.Values) != 1 ||
			cm.Dest.Values[0].FieldID != "webhook_url" || cm.Dest.Values[0].Value != hook {
			t.Errorf("dest: got %+v, want builtin-webhook with args and values webhook_url=%s", cm.Dest, hook)
		}
		if want := strings.TrimPrefix(p.sink.URL, "http://"); cm.Dest.Info.Text != want || cm.Dest.Info.IconAltText != "Webhook" {
			t.Errorf("dest.displayInfo: got %+v, want text %q (the host) and alt text Webhook", cm.Dest.Info, want)
		}
		if cm.LastTestVerifyAt != nil {
			t.Errorf("lastTestVerifyAt of a new contact method: got %v, want null", *cm.LastTestVerifyAt)
		}

		sms := p.createCM(t, bob.Token, map[string]any{"userID": bob.ID, "name": "Bob's phone", "type": "SMS", "value": "+17635550100"})
		if sms.Dest.Type != "builtin-twilio-sms" || sms.Dest.Args["phone_number"] != "+17635550100" ||
			sms.FormattedValue != "+1 763-555-0100" || sms.Dest.Info.Text != "+1 763-555-0100" || !sms.Disabled {
			t.Errorf("legacy SMS contact method: got %+v, want dest builtin-twilio-sms phone_number +17635550100, formatted +1 763-555-0100, disabled", sms)
		}

		var u struct {
			User struct {
				ContactMethods    []struct{ ID string }
				NotificationRules []struct {
					DelayMinutes    int
					ContactMethodID string
					ContactMethod   *struct{ Name string }
				}
			}
		}
		mustGQL(t, h, carol.Token, `query($id: ID) { user(id: $id) { contactMethods { id } notificationRules { delayMinutes contactMethodID contactMethod { name } } } }`,
			map[string]any{"id": bob.ID}, &u)
		var ids []string
		for _, c := range u.User.ContactMethods {
			ids = append(ids, c.ID)
		}
		slices.Sort(ids)
		want := []string{cm.ID, sms.ID}
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Errorf("user.contactMethods: got %v, want %v", ids, want)
		}
		if r := u.User.NotificationRules; len(r) != 1 || r[0].DelayMinutes != 0 || r[0].ContactMethodID != cm.ID || r[0].ContactMethod == nil || r[0].ContactMethod.Name != "Bob's hook" {
			t.Errorf("user.notificationRules: got %+v, want the immediate rule of Bob's hook", r)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		_, errs := gql(t, h, bob.Token, createCMMutation, map[string]any{"in": map[string]any{"userID": bob.ID, "name": "Dup",
			"dest": map[string]any{"type": "builtin-webhook", "args": map[string]string{"webhook_url": hook}}}})
		wantGQLError(t, "a second contact method with the same destination", errs, "CONFLICT")
		_, errs = gql(t, h, bob.Token, createCMMutation, map[string]any{"in": map[string]any{"userID": bob.ID, "name": "Bad",
			"dest": map[string]any{"type": "builtin-twilio-sms", "args": map[string]string{"phone_number": "555"}}}})
		wantGQLError(t, "an SMS contact method with a number not in E.164 form", errs, "INVALID_INPUT_VALUE")
		_, errs = gql(t, h, bob.Token, createCMMutation, map[string]any{"in": map[string]any{"userID": bob.ID, "name": "None"}})
		wantGQLError(t, "a contact method without a destination", errs, "INVALID_INPUT_VALUE")
		// Literal args in the query text, not only in variables.
		_, errs = gql(t, h, bob.Token, fmt.Sprintf(`mutation { createUserContactMethod(input: {userID: %q, name: "Lit",
			dest: {type: "builtin-smtp-email", args: {email_address: "bob@example.com"}}}) { dest { args } } }`, bob.ID), nil)
		if len(errs) != 0 {
			t.Errorf("createUserContactMethod with literal args: got errors %+v, want none", errs)
		}
	})

	t.Run("verification", func(t *testing.T) {
		_, errs := gql(t, h, bob.Token, `mutation($id: ID!) { testContactMethod(id: $id) }`, map[string]any{"id": cm.ID})
		wantGQLError(t, "testContactMethod before verification", errs, "CONFLICT")

		mustGQL(t, h, bob.Token, `mutation($id: ID!) { sendContactMethodVerification(input: {contactMethodID: $id}) }`, map[string]any{"id": cm.ID}, nil)
		code, err := strconv.Atoi(p.message(t, "/bob", "Verification", 0).String("Code"))
		if err != nil || code < 100000 || code > 999999 {
			t.Fatalf("verification code: got %d (%v), want 6 digits", code, err)
		}
		wrong := code + 1
		if wrong > 999999 {
			wrong = 100000
		}
		const verify = `mutation($id: ID!, $code: Int!) { verifyContactMethod(input: {contactMethodID: $id, code: $code}) }`
		_, errs = gql(t, h, bob.Token, verify, map[string]any{"id": cm.ID, "code": wrong})
		e := wantGQLError(t, "verifyContactMethod with a wrong code", errs, "INVALID_INPUT_VALUE")
		if e.Extensions["reason"] != "invalid_code" {
			t.Errorf("wrong code: got extensions %v, want reason invalid_code", e.Extensions)
		}
		if got := p.readCM(t, bob.Token, cm.ID); got == nil || !got.Disabled {
			t.Errorf("after a wrong code: got %+v, want the contact method still disabled", got)
		}
		_, errs = gql(t, h, carol.Token, verify, map[string]any{"id": cm.ID, "code": code})
		wantGQLError(t, "verifyContactMethod of another user's contact method", errs, "FORBIDDEN")

		mustGQL(t, h, bob.Token, verify, map[string]any{"id": cm.ID, "code": code}, nil)
		got := p.readCM(t, bob.Token, cm.ID)
		if got == nil || got.Disabled || got.Pending {
			t.Fatalf("after the right code: got %+v, want enabled and no longer pending", got)
		}
		if got.LastTestVerifyAt == nil || *got.LastTestVerifyAt != apptest.Start.Format(time.RFC3339Nano) {
			t.Errorf("lastTestVerifyAt: got %v, want %s", got.LastTestVerifyAt, apptest.Start.Format(time.RFC3339Nano))
		}
	})

	t.Run("test messages are rate limited", func(t *testing.T) {
		const test = `mutation($id: ID!) { testContactMethod(id: $id) }`
		_, errs := gql(t, h, bob.Token, test, map[string]any{"id": cm.ID})
		wantGQLError(t, "testContactMethod within a minute of the verification message", errs, "LIMIT_EXCEEDED")

		h.Clock.Advance(2 * time.Minute)
		mustGQL(t, h, bob.Token, test, map[string]any{"id": cm.ID}, nil)
		if r := p.message(t, "/bob", "Test", 0); r.Type() != "Test" {
			t.Errorf("test message: got %s, want a Test payload", r.Body)
		}
		_, errs = gql(t, h, bob.Token, test, map[string]any{"id": cm.ID})
		wantGQLError(t, "a second testContactMethod within a minute", errs, "LIMIT_EXCEEDED")
		_, errs = gql(t, h, bob.Token, `mutation($id: ID!) { sendContactMethodVerification(input: {contactMethodID: $id}) }`, map[string]any{"id": cm.ID})
		wantGQLError(t, "sendContactMethodVerification within a minute of a test", errs, "LIMIT_EXCEEDED")
	})

	const createRule = `mutation($in: CreateUserNotificationRuleInput!) {
		createUserNotificationRule(input: $in) { id delayMinutes contactMethodID contactMethod { id } } }`
	t.Run("notification rules", func(t *testing.T) {
		for _, delay := range []int{-1, 9001} {
			_, errs := gql(t, h, bob.Token, createRule, map[string]any{"in": map[string]any{"contactMethodID": cm.ID, "delayMinutes": delay}})
			e := wantGQLError(t, fmt.Sprintf("a rule with delay %d", delay), errs, "INVALID_INPUT_VALUE")
			if e.Extensions["field"] != "delayMinutes" {
				t.Errorf("delay %d: got extensions %v, want field delayMinutes", delay, e.Extensions)
			}
		}
		var out struct {
			CreateUserNotificationRule *struct {
				ID, ContactMethodID string
				DelayMinutes        int
				ContactMethod       *struct{ ID string }
			}
		}
		mustGQL(t, h, bob.Token, createRule, map[string]any{"in": map[string]any{"userID": bob.ID, "contactMethodID": cm.ID, "delayMinutes": 9000}}, &out)
		r := out.CreateUserNotificationRule
		if r == nil || r.DelayMinutes != 9000 || r.ContactMethodID != cm.ID || r.ContactMethod == nil || r.ContactMethod.ID != cm.ID {
			t.Fatalf("createUserNotificationRule at 9000 minutes: got %+v, want the rule on %s", r, cm.ID)
		}
		_, errs := gql(t, h, bob.Token, createRule, map[string]any{"in": map[string]any{"contactMethodID": cm.ID, "delayMinutes": 9000}})
		wantGQLError(t, "a second rule with the same delay", errs, "CONFLICT")
		_, errs = gql(t, h, bob.Token, createRule, map[string]any{"in": map[string]any{"userID": carol.ID, "contactMethodID": cm.ID, "delayMinutes": 3}})
		wantGQLError(t, "a rule naming another user than the contact method's", errs, "INVALID_INPUT_VALUE")
		_, errs = gql(t, h, bob.Token, createRule, map[string]any{"in": map[string]any{"contactMethodID": uuid.NewString(), "delayMinutes": 3}})
		wantGQLError(t, "a rule on an unknown contact method", errs, "NOT_FOUND")

		mustGQL(t, h, bob.Token, `mutation($id: ID!) { deleteAll(input: [{type: notificationRule, id: $id}]) }`, map[string]any{"id": r.ID}, nil)
		var u struct {
			User struct{ NotificationRules []struct{ ID string } }
		}
		mustGQL(t, h, bob.Token, `{ user { notificationRules { id } } }`, nil, &u)
		for _, got := range u.User.NotificationRules {
			if got.ID == r.ID {
				t.Errorf("deleted rule %s is still listed", r.ID)
			}
		}
	})

	t.Run("only the owner or an admin may change contact methods", func(t *testing.T) {
		const update = `mutation($in: UpdateUserContactMethodInput!) { updateUserContactMethod(input: $in) }`
		_, errs := gql(t, h, carol.Token, update, map[string]any{"in": map[string]any{"id": cm.ID, "name": "Carol was here"}})
		wantGQLError(t, "updateUserContactMethod of another user's contact method", errs, "FORBIDDEN")
		_, errs = gql(t, h, carol.Token, createCMMutation, map[string]any{"in": map[string]any{"userID": bob.ID, "name": "Sneaky",
			"dest": map[string]any{"type": "builtin-webhook", "args": map[string]string{"webhook_url": p.sink.URL + "/sneaky"}}}})
		wantGQLError(t, "createUserContactMethod for another user", errs, "FORBIDDEN")
		_, errs = gql(t, h, carol.Token, createRule, map[string]any{"in": map[string]any{"contactMethodID": cm.ID, "delayMinutes": 7}})
		wantGQLError(t, "createUserNotificationRule on another user's contact method", errs, "FORBIDDEN")
		_, errs = gql(t, h, carol.Token, `mutation($id: ID!) { sendContactMethodVerification(input: {contactMethodID: $id}) }`, map[string]any{"id": cm.ID})
		wantGQLError(t, "sendContactMethodVerification of another user's contact method", errs, "FORBIDDEN")
		_, errs = gql(t, h, carol.Token, `mutation($id: ID!) { deleteAll(input: [{type: contactMethod, id: $id}]) }`, map[string]any{"id": cm.ID})
		wantGQLError(t, "deleteAll of another user's contact method", errs, "FORBIDDEN")
		if got := p.readCM(t, bob.Token, cm.ID); got == nil || got.Name != "Bob's hook" {
			t.Errorf("after refused changes: got %+v, want Bob's hook unchanged", got)
		}

		own := p.createCM(t, carol.Token, map[string]any{"userID": carol.ID, "name": "Carol's mail",
			"dest": map[string]any{"type": "builtin-smtp-email", "values": []map[string]string{{"fieldID": "email_address", "value": "carol@example.com"}}}})
		if own.Dest.Args["email_address"] != "carol@example.com" || own.Type == nil || *own.Type != "EMAIL" {
			t.Errorf("contact method from values: got %+v, want EMAIL carol@example.com", own)
		}
		mustGQL(t, h, carol.Token, update, map[string]any{"in": map[string]any{"id": own.ID, "name": "Carol's inbox", "enableStatusUpdates": true}}, nil)
		if got := p.readCM(t, carol.Token, own.ID); got == nil || got.Name != "Carol's inbox" || got.StatusUpdates != "ENABLED" {
			t.Errorf("after Carol renamed her own: got %+v, want Carol's inbox with status updates ENABLED", got)
		}
		_, errs = gql(t, h, carol.Token, update, map[string]any{"in": map[string]any{"id": own.ID, "value": "other@example.com"}})
		wantGQLError(t, "updateUserContactMethod with a new value", errs, "INVALID_INPUT_VALUE")

		mustGQL(t, h, p.admin.Token, update, map[string]any{"in": map[string]any{"id": cm.ID, "name": "Bob's hook (by admin)"}}, nil)
		if got := p.readCM(t, bob.Token, cm.ID); got == nil || got.Name != "Bob's hook (by admin)" {
			t.Errorf("after the admin renamed Bob's: got %+v, want Bob's hook (by admin)", got)
		}

		mustGQL(t, h, carol.Token, `mutation($id: ID!) { deleteAll(input: [{type: contactMethod, id: $id}]) }`, map[string]any{"id": own.ID}, nil)
		if got := p.readCM(t, carol.Token, own.ID); got != nil {
			t.Errorf("userContactMethod after deleteAll: got %+v, want null", got)
		}
	})
}

// gqlStep is what GraphQL shows of a policy step.
type gqlStep struct {
	ID           string
	StepNumber   int
	DelayMinutes int
	Actions      []struct {
		Type string
		Args map[string]string
		Info struct{ Text string } `json:"displayInfo"`
	}
	Targets []struct{ ID, Type, Name string }
}

type gqlPolicy struct {
	ID          string
	Name        string
	Description string
	Repeat      int
	Steps       []gqlStep
}

const policyFieldsGQL = `id name description repeat steps { id stepNumber delayMinutes
	actions { type args displayInfo { text } } targets { id type name } }`

func (p *pagingAPI) readPolicy(t *testing.T, token, id string) *gqlPolicy {
	t.Helper()
	var out struct{ EscalationPolicy *gqlPolicy }
	mustGQL(t, p.h, token, `query($id: ID!) { escalationPolicy(id: $id) { `+policyFieldsGQL+` } }`, map[string]any{"id": id}, &out)
	return out.EscalationPolicy
}

func stepIDsOf(p *gqlPolicy) []string {
	var out []string
	for _, s := range p.Steps {
		out = append(out, s.ID)
	}
	return out
}

func actionTypes(s gqlStep) []string {
	var out []string
	for _, a := range s.Actions {
		out = append(out, a.Type)
	}
	return out
}

func TestGraphQL_EscalationPolicies(t *testing.T) {
	t.Parallel()
	p := newPagingAPI(t)
	h := p.h
	bob := newAccount(t, h, "Bob", "bob", user.RoleUser)
	ctx := context.Background()
	sched, _, err := h.Commands.CreateSchedule(ctx, commands.CreateSchedule{Name: "Storefront", TimeZone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	rot, _, err := h.Commands.CreateRotation(ctx, commands.CreateRotation{Name: "Storefront rotation", Type: "weekly", ShiftLength: 1,
		Start: apptest.Start, TimeZone: "UTC", UserIDs: []string{bob.ID}})
	if err != nil {
		t.Fatal(err)
	}

	const create = `mutation($in: CreateEscalationPolicyInput!) { createEscalationPolicy(input: $in) { ` + policyFieldsGQL + ` } }`
	var created struct{ CreateEscalationPolicy *gqlPolicy }
	// A plain user may create policies, as in GoAlert.
	mustGQL(t, h, bob.Token, create, map[string]any{"in": map[string]any{
		"name": "Primary", "description": "Storefront on-call",
		"steps": []map[string]any{
			{"delayMinutes": 5, "actions": []map[string]any{{"type": "builtin-user", "args": map[string]string{"user_id": bob.ID}}}},
			{"delayMinutes": 10, "targets": []map[string]any{
				{"type": "user", "id": bob.ID}, {"type": "schedule", "id": sched},
				{"type": "chanWebhook", "id": "https://hooks.example.com/ops"}, {"type": "slackChannel", "id": "C0123456"},
			}},
		},
	}}, &created)
	pol := created.CreateEscalationPolicy
	if pol == nil {
		t.Fatal("createEscalationPolicy: got null, want the policy")
	}

	t.Run("round trip", func(t *testing.T) {
		for _, got := range []*gqlPolicy{pol, p.readPolicy(t, bob.Token, pol.ID)} {
			if got == nil || got.Name != "Primary" || got.Description != "Storefront on-call" || got.Repeat != 3 || len(got.Steps) != 2 {
				t.Fatalf("policy: got %+v, want Primary with repeat 3 (the default) and 2 steps", got)
			}
			s0, s1 := got.Steps[0], got.Steps[1]
			if s0.StepNumber != 0 || s0.DelayMinutes != 5 || len(s0.Actions) != 1 || s0.Actions[0].Args["user_id"] != bob.ID || s0.Actions[0].Info.Text != "Bob" {
				t.Errorf("step 0: got %+v, want delay 5 paging Bob", s0)
			}
			if len(s0.Targets) != 1 || s0.Targets[0] != (struct{ ID, Type, Name string }{bob.ID, "user", "Bob"}) {
				t.Errorf("step 0 targets: got %+v, want [{%s user Bob}]", s0.Targets, bob.ID)
			}
			wantTypes := []string{"builtin-user", "builtin-schedule", "builtin-webhook", "builtin-slack-channel"}
			if s1.StepNumber != 1 || s1.DelayMinutes != 10 || !slices.Equal(actionTypes(s1), wantTypes) {
				t.Errorf("step 1: got number %d delay %d actions %v, want 1, 10, %v", s1.StepNumber, s1.DelayMinutes, actionTypes(s1), wantTypes)
			}
			if len(s1.Actions) == 4 && (s1.Actions[1].Args["schedule_id"] != sched || s1.Actions[2].Args["webhook_url"] != "https://hooks.example.com/ops" ||
				s1.Actions[3].Args["slack_channel_id"] != "C0123456" || s1.Actions[2].Info.Text != "hooks.example.com") {
				t.Errorf("step 1 actions: got %+v, want the schedule, webhook and Slack channel targets as args", s1.Actions)
			}
			var targets []string
			for _, tg := range s1.Targets {
				targets = append(targets, tg.Type+":"+tg.ID)
			}
			want := []string{"user:" + bob.ID, "schedule:" + sched, "chanWebhook:https://hooks.example.com/ops", "slackChannel:C0123456"}
			if !slices.Equal(targets, want) {
				t.Errorf("step 1 targets: got %v, want %v", targets, want)
			}
		}
	})

	t.Run("steps", func(t *testing.T) {
		var added struct {
			CreateEscalationPolicyStep *struct {
				ID               string
				StepNumber       int
				EscalationPolicy *struct{ ID string }
			}
		}
		mustGQL(t, h, bob.Token, `mutation($in: CreateEscalationPolicyStepInput!) {
			createEscalationPolicyStep(input: $in) { id stepNumber escalationPolicy { id } } }`,
			map[string]any{"in": map[string]any{"escalationPolicyID": pol.ID, "delayMinutes": 15,
				"actions": []map[string]any{{"type": "builtin-rotation", "values": []map[string]string{{"fieldID": "rotation_id", "value": rot}}}}}}, &added)
		s2 := added.CreateEscalationPolicyStep
		if s2 == nil || s2.StepNumber != 2 || s2.EscalationPolicy == nil || s2.EscalationPolicy.ID != pol.ID {
			t.Fatalf("createEscalationPolicyStep: got %+v, want step #2 of %s", s2, pol.ID)
		}
		const updateStep = `mutation($in: UpdateEscalationPolicyStepInput!) { updateEscalationPolicyStep(input: $in) }`
		mustGQL(t, h, bob.Token, updateStep, map[string]any{"in": map[string]any{"id": pol.Steps[1].ID, "delayMinutes": 20}}, nil)
		got := p.readPolicy(t, bob.Token, pol.ID)
		if s := got.Steps[1]; s.DelayMinutes != 20 || len(s.Actions) != 4 {
			t.Errorf("after a delay-only update: got delay %d with %d actions, want 20 with the 4 actions kept", s.DelayMinutes, len(s.Actions))
		}
		mustGQL(t, h, bob.Token, updateStep, map[string]any{"in": map[string]any{"id": pol.Steps[1].ID, "targets": []map[string]any{{"type": "rotation", "id": rot}}}}, nil)
		got = p.readPolicy(t, bob.Token, pol.ID)
		if s := got.Steps[1]; s.DelayMinutes != 20 || !slices.Equal(actionTypes(s), []string{"builtin-rotation"}) {
			t.Errorf("after replacing targets: got delay %d actions %v, want 20 and [builtin-rotation]", s.DelayMinutes, actionTypes(s))
		}

		ids := stepIDsOf(got)
		const update = `mutation($in: UpdateEscalationPolicyInput!) { updateEscalationPolicy(input: $in) }`
		order := []string{ids[2], ids[0], ids[1]}
		mustGQL(t, h, bob.Token, update, map[string]any{"in": map[string]any{"id": pol.ID, "stepIDs": order}}, nil)
		got = p.readPolicy(t, bob.Token, pol.ID)
		if !slices.Equal(stepIDsOf(got), order) || got.Steps[0].StepNumber != 0 || got.Steps[2].StepNumber != 2 || got.Steps[0].DelayMinutes != 15 {
			t.Errorf("after reordering: got %+v, want steps %v numbered 0..2", got.Steps, order)
		}
		_, errs := gql(t, h, bob.Token, update, map[string]any{"in": map[string]any{"id": pol.ID, "name": "Renamed", "stepIDs": []string{ids[0], uuid.NewString()}}})
		wantGQLError(t, "stepIDs with a step of no policy", errs, "INVALID_INPUT_VALUE")
		_, errs = gql(t, h, bob.Token, update, map[string]any{"in": map[string]any{"id": pol.ID, "stepIDs": []string{ids[0], ids[0]}}})
		wantGQLError(t, "stepIDs listing a step twice", errs, "INVALID_INPUT_VALUE")
		if got := p.readPolicy(t, bob.Token, pol.ID); got.Name != "Primary" || len(got.Steps) != 3 {
			t.Errorf("after refused updates: got name %q with %d steps, want Primary with 3", got.Name, len(got.Steps))
		}

		// Leaving a step out deletes it (GoAlert's UI deletes steps so).
		mustGQL(t, h, bob.Token, update, map[string]any{"in": map[string]any{"id": pol.ID, "stepIDs": []string{ids[1], ids[2]},
			"name": "Primary on-call", "description": "", "repeat": 1}}, nil)
		got = p.readPolicy(t, bob.Token, pol.ID)
		if !slices.Equal(stepIDsOf(got), []string{ids[1], ids[2]}) || got.Name != "Primary on-call" || got.Description != "" || got.Repeat != 1 {
			t.Errorf("after dropping a step and renaming: got %+v, want steps [%s %s], Primary on-call, repeat 1", got, ids[1], ids[2])
		}
	})

	t.Run("bad input", func(t *testing.T) {
		cases := []struct {
			what, code string
			in         map[string]any
		}{
			{"a taken name", "CONFLICT", map[string]any{"name": "primary ON-CALL"}},
			{"repeat 6", "INVALID_INPUT_VALUE", map[string]any{"name": "R6", "repeat": 6}},
			{"a step with delay 0", "INVALID_INPUT_VALUE", map[string]any{"name": "D0", "steps": []map[string]any{{"delayMinutes": 0}}}},
			{"an unknown action type", "INVALID_INPUT_VALUE", map[string]any{"name": "U", "steps": []map[string]any{{"delayMinutes": 1,
				"actions": []map[string]any{{"type": "builtin-carrier-pigeon", "args": map[string]string{"loft": "1"}}}}}}},
			{"a service as a target", "INVALID_INPUT_VALUE", map[string]any{"name": "S", "steps": []map[string]any{{"delayMinutes": 1,
				"targets": []map[string]any{{"type": "service", "id": uuid.NewString()}}}}}},
		}
		for _, c := range cases {
			_, errs := gql(t, h, bob.Token, create, map[string]any{"in": c.in})
			wantGQLError(t, "createEscalationPolicy with "+c.what, errs, c.code)
		}
		_, errs := gql(t, h, bob.Token, `mutation { createEscalationPolicyStep(input: {delayMinutes: 5}) { id } }`, nil)
		wantGQLError(t, "createEscalationPolicyStep without a policy", errs, "INVALID_INPUT_VALUE")
		_, errs = gql(t, h, bob.Token, `mutation($id: ID!) { updateEscalationPolicyStep(input: {id: $id, delayMinutes: 5}) }`, map[string]any{"id": uuid.NewString()})
		wantGQLError(t, "updateEscalationPolicyStep of an unknown step", errs, "NOT_FOUND")
	})

	t.Run("search and paging", func(t *testing.T) {
		for _, name := range []string{"Team Alpha", "Team Beta", "Team Gamma"} {
			mustGQL(t, h, bob.Token, create, map[string]any{"in": map[string]any{"name": name}}, nil)
		}
		const search = `query($in: EscalationPolicySearchOptions) { escalationPolicies(input: $in) { nodes { name } pageInfo { endCursor hasNextPage } } }`
		var names []string
		in := map[string]any{"search": "team", "first": 2}
		for page := 0; page < 3; page++ {
			var out struct {
				EscalationPolicies struct {
					Nodes    []struct{ Name string }
					PageInfo struct {
						EndCursor   *string
						HasNextPage bool
					}
				}
			}
			mustGQL(t, h, bob.Token, search, map[string]any{"in": in}, &out)
			for _, n := range out.EscalationPolicies.Nodes {
				names = append(names, n.Name)
			}
			if !out.EscalationPolicies.PageInfo.HasNextPage {
				break
			}
			in["after"] = *out.EscalationPolicies.PageInfo.EndCursor
		}
		if want := []string{"Team Alpha", "Team Beta", "Team Gamma"}; !slices.Equal(names, want) {
			t.Errorf("escalationPolicies search team, 2 a page: got %v, want %v", names, want)
		}
	})

	t.Run("services", func(t *testing.T) {
		const createSvc = `mutation($in: CreateServiceInput!) { createService(input: $in) { id escalationPolicyID escalationPolicy { name steps { delayMinutes } } } }`
		var out struct {
			CreateService *struct {
				ID, EscalationPolicyID string
				EscalationPolicy       *struct {
					Name  string
					Steps []struct{ DelayMinutes int }
				}
			}
		}
		mustGQL(t, h, bob.Token, createSvc, map[string]any{"in": map[string]any{"name": "Storefront",
			"newEscalationPolicy": map[string]any{"name": "Storefront policy", "steps": []map[string]any{{"delayMinutes": 7,
				"targets": []map[string]any{{"type": "user", "id": bob.ID}}}}}}}, &out)
		s := out.CreateService
		if s == nil || s.EscalationPolicy == nil || s.EscalationPolicy.Name != "Storefront policy" || len(s.EscalationPolicy.Steps) != 1 ||
			s.EscalationPolicy.Steps[0].DelayMinutes != 7 || s.EscalationPolicyID == "" {
			t.Fatalf("createService with newEscalationPolicy: got %+v, want the service on Storefront policy", s)
		}
		// A refused service leaves no policy behind.
		_, errs := gql(t, h, bob.Token, createSvc, map[string]any{"in": map[string]any{"name": "Storefront",
			"newEscalationPolicy": map[string]any{"name": "Orphan policy"}}})
		wantGQLError(t, "createService with a taken name and a new policy", errs, "CONFLICT")
		var found struct {
			EscalationPolicies struct{ Nodes []struct{ ID string } }
		}
		mustGQL(t, h, bob.Token, `{ escalationPolicies(input: {search: "Orphan"}) { nodes { id } } }`, nil, &found)
		if n := len(found.EscalationPolicies.Nodes); n != 0 {
			t.Errorf("policies named Orphan after the refused service: got %d, want 0", n)
		}
		mustGQL(t, h, bob.Token, create, map[string]any{"in": map[string]any{"name": "Orphan policy"}}, nil)

		mustGQL(t, h, bob.Token, `mutation($id: ID!) { deleteAll(input: [{type: escalationPolicy, id: $id}]) }`, map[string]any{"id": pol.ID}, nil)
		if got := p.readPolicy(t, bob.Token, pol.ID); got != nil {
			t.Errorf("escalationPolicy after deleteAll: got %+v, want null", got)
		}
	})

	t.Run("limits", func(t *testing.T) {
		mustGQL(t, h, p.admin.Token, `mutation { setSystemLimits(input: [{id: EPStepsPerPolicy, value: 2}, {id: EPActionsPerStep, value: 1}]) }`, nil, nil)
		step := map[string]any{"delayMinutes": 1, "targets": []map[string]any{{"type": "user", "id": bob.ID}}}
		_, errs := gql(t, h, bob.Token, create, map[string]any{"in": map[string]any{"name": "Three steps", "steps": []map[string]any{step, step, step}}})
		e := wantGQLError(t, "a policy with 3 steps over a limit of 2", errs, "LIMIT_EXCEEDED")
		if e.Extensions["reason"] != "ep_steps_per_policy" {
			t.Errorf("too many steps: got extensions %v, want reason ep_steps_per_policy", e.Extensions)
		}
		var two struct{ CreateEscalationPolicy *gqlPolicy }
		mustGQL(t, h, bob.Token, create, map[string]any{"in": map[string]any{"name": "Two steps", "steps": []map[string]any{step, step}}}, &two)
		_, errs = gql(t, h, bob.Token, `mutation($id: ID!) { createEscalationPolicyStep(input: {escalationPolicyID: $id, delayMinutes: 5}) { id } }`,
			map[string]any{"id": two.CreateEscalationPolicy.ID})
		wantGQLError(t, "a third step over a limit of 2", errs, "LIMIT_EXCEEDED")
		_, errs = gql(t, h, bob.Token, `mutation($in: UpdateEscalationPolicyStepInput!) { updateEscalationPolicyStep(input: $in) }`,
			map[string]any{"in": map[string]any{"id": two.CreateEscalationPolicy.Steps[0].ID, "targets": []map[string]any{
				{"type": "user", "id": bob.ID}, {"type": "user", "id": p.admin.ID}}}})
		wantGQLError(t, "2 targets over a limit of 1", errs, "LIMIT_EXCEEDED")
	})
}

func TestGraphQL_HeartbeatMonitors(t *testing.T) {
	t.Parallel()
	p := newPagingAPI(t)
	h := p.h
	svc, _ := newService(t, h, "Batch jobs")
	const fields = `id serviceID name timeoutMinutes lastState lastHeartbeat href additionalDetails muted`
	type monitor struct {
		ID, ServiceID, Name, LastState, Href, AdditionalDetails, Muted string
		TimeoutMinutes                                                 int
		LastHeartbeat                                                  *string
	}
	read := func(t *testing.T, id string) *monitor {
		t.Helper()
		var out struct{ HeartbeatMonitor *monitor }
		mustGQL(t, h, p.admin.Token, `query($id: ID!) { heartbeatMonitor(id: $id) { `+fields+` } }`, map[string]any{"id": id}, &out)
		return out.HeartbeatMonitor
	}

	var out struct{ CreateHeartbeatMonitor *monitor }
	mustGQL(t, h, p.admin.Token, `mutation($in: CreateHeartbeatMonitorInput!) { createHeartbeatMonitor(input: $in) { `+fields+` } }`,
		map[string]any{"in": map[string]any{"serviceID": svc, "name": "nightly backup", "timeoutMinutes": 60, "additionalDetails": "runbook: /backup"}}, &out)
	m := out.CreateHeartbeatMonitor
	if m == nil || m.ServiceID != svc || m.Name != "nightly backup" || m.TimeoutMinutes != 60 || m.LastState != "inactive" ||
		m.LastHeartbeat != nil || m.AdditionalDetails != "runbook: /backup" || m.Muted != "" || !strings.HasSuffix(m.Href, "/api/v2/heartbeat/"+m.ID) {
		t.Fatalf("createHeartbeatMonitor: got %+v, want an inactive monitor of 60 minutes with its check-in href", m)
	}

	r := postJSON(t, h.URL+"/api/v2/heartbeat/"+m.ID, "")
	if r.Status != http.StatusOK && r.Status != http.StatusNoContent {
		t.Fatalf("heartbeat check-in: got %s, want success", r)
	}
	settle(t, h)
	if got := read(t, m.ID); got == nil || got.LastState != "healthy" || got.LastHeartbeat == nil || *got.LastHeartbeat != apptest.Start.Format(time.RFC3339Nano) {
		t.Errorf("after a check-in: got %+v, want healthy with lastHeartbeat %s", got, apptest.Start.Format(time.RFC3339Nano))
	}

	const update = `mutation($in: UpdateHeartbeatMonitorInput!) { updateHeartbeatMonitor(input: $in) }`
	mustGQL(t, h, p.admin.Token, update, map[string]any{"in": map[string]any{"id": m.ID, "name": "nightly backups", "timeoutMinutes": 90, "muted": "planned migration"}}, nil)
	if got := read(t, m.ID); got == nil || got.Name != "nightly backups" || got.TimeoutMinutes != 90 || got.Muted != "planned migration" || got.AdditionalDetails != "runbook: /backup" {
		t.Errorf("after updateHeartbeatMonitor: got %+v, want nightly backups, 90 minutes, muted, details kept", got)
	}
	_, errs := gql(t, h, p.admin.Token, update, map[string]any{"in": map[string]any{"id": m.ID, "timeoutMinutes": 1}})
	e := wantGQLError(t, "a timeout of 1 minute", errs, "INVALID_INPUT_VALUE")
	if e.Extensions["field"] != "timeoutMinutes" {
		t.Errorf("timeout of 1 minute: got extensions %v, want field timeoutMinutes", e.Extensions)
	}
	_, errs = gql(t, h, p.admin.Token, update, map[string]any{"in": map[string]any{"id": uuid.NewString(), "name": "x"}})
	wantGQLError(t, "updateHeartbeatMonitor of an unknown monitor", errs, "NOT_FOUND")

	var svcOut struct {
		CreateService *struct {
			ID                string
			HeartbeatMonitors []struct{ Name string }
		}
	}
	mustGQL(t, h, p.admin.Token, `mutation($in: CreateServiceInput!) { createService(input: $in) { id heartbeatMonitors { name } } }`,
		map[string]any{"in": map[string]any{"name": "Cron", "newHeartbeatMonitors": []map[string]any{
			{"name": "hourly", "timeoutMinutes": 65}, {"name": "daily", "timeoutMinutes": 1500}}}}, &svcOut)
	if s := svcOut.CreateService; s == nil || len(s.HeartbeatMonitors) != 2 || s.HeartbeatMonitors[0].Name != "daily" || s.HeartbeatMonitors[1].Name != "hourly" {
		t.Errorf("createService with newHeartbeatMonitors: got %+v, want monitors daily and hourly", s)
	}

	mustGQL(t, h, p.admin.Token, `mutation($id: ID!) { deleteAll(input: [{type: heartbeatMonitor, id: $id}]) }`, map[string]any{"id": m.ID}, nil)
	if got := read(t, m.ID); got != nil {
		t.Errorf("heartbeatMonitor after deleteAll: got %+v, want null", got)
	}
	var svcRead struct {
		Service struct{ HeartbeatMonitors []struct{ ID string } }
	}
	mustGQL(t, h, p.admin.Token, `query($id: ID!) { service(id: $id) { heartbeatMonitors { id } } }`, map[string]any{"id": svc}, &svcRead)
	if n := len(svcRead.Service.HeartbeatMonitors); n != 0 {
		t.Errorf("service.heartbeatMonitors after deleting its only one: got %d, want 0", n)
	}
}

func TestGraphQL_AlertEscalationState(t *testing.T) {
	t.Parallel()
	p := newPagingAPI(t)
	h := p.h
	bob := newAccount(t, h, "Bob", "bob", user.RoleUser)
	cm := p.createCM(t, bob.Token, map[string]any{"userID": bob.ID, "name": "Bob's hook",
		"dest":                    map[string]any{"type": "builtin-webhook", "args": map[string]string{"webhook_url": p.sink.URL + "/bob"}},
		"newUserNotificationRule": map[string]any{"delayMinutes": 0}})
	p.verifyCM(t, bob.Token, cm.ID, "/bob")

	var svc struct {
		CreateService *struct{ ID string }
	}
	mustGQL(t, h, bob.Token, `mutation($in: CreateServiceInput!) { createService(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"name": "Checkout", "newEscalationPolicy": map[string]any{"name": "Checkout policy", "steps": []map[string]any{
			{"delayMinutes": 5, "targets": []map[string]any{{"type": "user", "id": bob.ID}}},
			{"delayMinutes": 5, "actions": []map[string]any{{"type": "builtin-user", "args": map[string]string{"user_id": bob.ID}}}},
		}}}}, &svc)
	a := createAlert(t, h, bob.Token, map[string]any{"serviceID": svc.CreateService.ID, "summary": "Payments failing"})

	type state struct {
		Alert struct {
			State *struct {
				LastEscalation          string
				StepNumber, RepeatCount int
			}
			RecentEvents struct{ Nodes []struct{ Message string } }
		}
	}
	// waitState polls the alert until its log has a line starting with
	// prefix and its state is at step. The alert and its log are read by
	// two statements, so a projection commit between them can show the
	// line before the state.
	waitState := func(t *testing.T, prefix string, step int) state {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			h.WakePager()
			settle(t, h)
			var out state
			mustGQL(t, h, bob.Token, `query($id: Int!) { alert(id: $id) { state { lastEscalation stepNumber repeatCount } recentEvents { nodes { message } } } }`,
				map[string]any{"id": a.AlertID}, &out)
			for _, n := range out.Alert.RecentEvents.Nodes {
				if strings.HasPrefix(n.Message, prefix) && out.Alert.State != nil && out.Alert.State.StepNumber == step {
					return out
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("alert %d: no log line %q with the state at step %d within 10s; got state %+v, log %+v",
					a.AlertID, prefix, step, out.Alert.State, out.Alert.RecentEvents.Nodes)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	got := waitState(t, "Escalated to step #1", 0)
	if s := got.Alert.State; s == nil || s.StepNumber != 0 || s.RepeatCount != 0 || s.LastEscalation != apptest.Start.Format(time.RFC3339Nano) {
		t.Errorf("state after the first escalation: got %+v, want step 0, repeat 0, last escalation %s", s, apptest.Start.Format(time.RFC3339Nano))
	}
	if r := p.message(t, "/bob", "Alert", 0); int64(r.JSON["AlertID"].(float64)) != a.AlertID {
		t.Errorf("Bob's page: got %s, want alert %d", r.Body, a.AlertID)
	}

	h.Clock.Advance(time.Minute)
	mustGQL(t, h, bob.Token, `mutation($ids: [Int!]) { escalateAlerts(input: $ids) { alertID } }`, map[string]any{"ids": []int64{a.AlertID}}, nil)
	got = waitState(t, "Manually escalated to step #2", 1)
	want := apptest.Start.Add(time.Minute).Format(time.RFC3339Nano)
	if s := got.Alert.State; s == nil || s.StepNumber != 1 || s.RepeatCount != 0 || s.LastEscalation != want {
		t.Errorf("state after a manual escalation: got %+v, want step 1, repeat 0, last escalation %s", s, want)
	}

	// The whole log, newest first, as the UI pages it.
	var all []string
	after := ""
	for range 10 {
		var out struct {
			Alert struct {
				RecentEvents struct {
					Nodes    []struct{ Message string }
					PageInfo struct {
						EndCursor   *string
						HasNextPage bool
					}
				}
			}
		}
		mustGQL(t, h, bob.Token, `query($id: Int!, $after: String) { alert(id: $id) { recentEvents(input: {limit: 2, after: $after}) {
			nodes { message } pageInfo { endCursor hasNextPage } } } }`, map[string]any{"id": a.AlertID, "after": after}, &out)
		for _, n := range out.Alert.RecentEvents.Nodes {
			all = append(all, n.Message)
		}
		if !out.Alert.RecentEvents.PageInfo.HasNextPage {
			break
		}
		after = *out.Alert.RecentEvents.PageInfo.EndCursor
	}
	if len(all) < 3 || !strings.HasPrefix(all[len(all)-1], "Created") || !slices.ContainsFunc(all, func(m string) bool { return strings.HasPrefix(m, "Notification sent") }) {
		b, _ := json.MarshalIndent(all, "", "  ")
		t.Errorf("recentEvents paged 2 at a time: got %s, want Created last and a Notification sent line", b)
	}
}

func TestGraphQL_ContactMethodsNeedTheirProvider(t *testing.T) {
	h := apptest.New(t)
	admin := newAccount(t, h, "Admin", "admin", user.RoleAdmin)
	const create = `mutation($in: CreateUserContactMethodInput!) { createUserContactMethod(input: $in) { id } }`
	cm := func(typ, arg, value string) map[string]any {
		return map[string]any{"in": map[string]any{"userID": admin.ID, "name": typ + " " + value,
			"dest": map[string]any{"type": typ, "args": map[string]string{arg: value}}}}
	}
	_, errs := gql(t, h, admin.Token, create, cm("builtin-twilio-sms", "phone_number", "+15555550100"))
	if e := wantGQLError(t, "SMS contact method with Twilio off", errs, "INVALID_INPUT_VALUE"); !strings.Contains(e.Message, "disabled") {
		t.Errorf("message %q does not say the type is disabled", e.Message)
	}
	setConfig(t, h, admin.Token, "Webhook.Enable", "true", "Webhook.AllowedURLs", "https://hooks.example.com/ok")
	_, errs = gql(t, h, admin.Token, create, cm("builtin-webhook", "webhook_url", "https://hooks.example.com.evil.test/ok"))
	wantGQLError(t, "webhook outside Webhook.AllowedURLs", errs, "INVALID_INPUT_VALUE")
	if _, errs = gql(t, h, admin.Token, create, cm("builtin-webhook", "webhook_url", "https://hooks.example.com/ok/team-a")); len(errs) > 0 {
		t.Fatalf("allowed webhook refused: %v", errs)
	}
}
