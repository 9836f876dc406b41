package config

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/events"
)

func TestField_Normalize(t *testing.T) {
	tests := []struct {
		id, in, want string
		wantErr      bool
	}{
		{"Mailgun.Enable", "true", "true", false},
		{"Mailgun.Enable", " false ", "false", false},
		{"Mailgun.Enable", "True", "", true},
		{"Mailgun.Enable", "", "", true},
		{"Maintenance.AlertCleanupDays", "007", "7", false},
		{"Maintenance.AlertCleanupDays", "9001", "", true},
		{"Maintenance.AlertCleanupDays", "1.5", "", true},
		{"GitHub.AllowedOrgs", " acme \n\nacme/ops\n", "acme\nacme/ops", false},
		{"Webhook.AllowedURLs", "", "", false},
		{"General.ApplicationName", "  Pager  ", "Pager", false},
		{"SMTP.Password", "  spaces kept  ", "  spaces kept  ", false},
		{"Mailgun.APIKey", "key with space", "", true},
		{"Mailgun.EmailDomain", "Alerts.Example.com", "Alerts.Example.com", false},
		{"Mailgun.EmailDomain", "@example.com", "", true},
		{"Twilio.FromNumber", "+15555550100", "+15555550100", false},
		{"Twilio.FromNumber", "555-0100", "", true},
		{"SMTP.From", "GoAlert <alerts@example.com>", "GoAlert <alerts@example.com>", false},
		{"General.PublicURL", "https://example.com", "", true},
	}
	for _, tc := range tests {
		f, ok := Lookup(tc.id)
		if !ok {
			t.Fatalf("Lookup(%s): not in the catalogue", tc.id)
		}
		got, err := f.Normalize(tc.in)
		if tc.wantErr {
			var de *domain.Error
			if !errors.As(err, &de) || de.Field != tc.id {
				t.Errorf("%s %q: got %q, %v; want a field error on %s", tc.id, tc.in, got, err, tc.id)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s %q: got %q, %v; want %q", tc.id, tc.in, got, err, tc.want)
		}
	}
}

func TestFields_Catalogue(t *testing.T) {
	for _, f := range Fields() {
		if f.Section() == "" || f.Name() == "" || f.Description == "" {
			t.Errorf("%s: want Section.Name and a description", f.ID)
		}
		if _, err := f.Normalize(f.Default); err != nil && !f.ReadOnly {
			t.Errorf("%s: the default %q does not validate: %v", f.ID, f.Default, err)
		}
		if f.Password && f.Public {
			t.Errorf("%s: a secret may not be public", f.ID)
		}
	}
}

func TestSet(t *testing.T) {
	tests := []struct {
		name    string
		cur     map[string]string
		changes []Change
		want    []events.Event
		wantErr string // the field of the expected error
	}{
		{
			name:    "a new value",
			changes: []Change{{ID: "General.ApplicationName", Value: "Pager"}},
			want:    []events.Event{events.ConfigValueSet{ID: "General.ApplicationName", Value: "Pager"}},
		},
		{
			name:    "the stored value is no change",
			cur:     map[string]string{"General.ApplicationName": "Pager"},
			changes: []Change{{ID: "General.ApplicationName", Value: "Pager"}, {ID: "Mailgun.Enable", Value: "false"}},
		},
		{
			name: "enabling with what it needs",
			changes: []Change{
				{ID: "Mailgun.APIKey", Value: "sealed", Secret: true, Sealed: true},
				{ID: "Mailgun.EmailDomain", Value: "example.com"},
				{ID: "Mailgun.Enable", Value: "true"},
			},
			want: []events.Event{
				events.ConfigValueSet{ID: "Mailgun.APIKey", Value: "sealed", Encrypted: true},
				events.ConfigValueSet{ID: "Mailgun.EmailDomain", Value: "example.com"},
				events.ConfigValueSet{ID: "Mailgun.Enable", Value: "true"},
			},
		},
		{
			name:    "enabling without what it needs",
			cur:     map[string]string{"Mailgun.EmailDomain": "example.com"},
			changes: []Change{{ID: "Mailgun.Enable", Value: "true"}},
			wantErr: "Mailgun.Enable",
		},
		{
			name:    "one of two alternatives is enough",
			cur:     map[string]string{"Twilio.AccountSID": "AC1", "Twilio.AuthToken": "sealed"},
			changes: []Change{{ID: "Twilio.MessagingServiceSID", Value: "MG1"}, {ID: "Twilio.Enable", Value: "true"}},
			want: []events.Event{
				events.ConfigValueSet{ID: "Twilio.MessagingServiceSID", Value: "MG1"},
				events.ConfigValueSet{ID: "Twilio.Enable", Value: "true"},
			},
		},
		{
			name:    "clearing what an enabled section needs",
			cur:     map[string]string{"SMTP.Enable": "true", "SMTP.From": "a@example.com", "SMTP.Address": "mx"},
			changes: []Change{{ID: "SMTP.Address", Value: ""}},
			wantErr: "SMTP.Enable",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Set(tc.cur, tc.changes)
			if tc.wantErr != "" {
				var de *domain.Error
				if !errors.As(err, &de) || de.Field != tc.wantErr {
					t.Fatalf("got %v, %v; want a field error on %s", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("events (-want +got):\n%s", d)
			}
		})
	}

	t.Run("an unsealed secret is a bug", func(t *testing.T) {
		_, err := Set(nil, []Change{{ID: "Slack.AccessToken", Value: "xoxb-plain", Secret: true}})
		if !errors.Is(err, errUnsealed) {
			t.Fatalf("got %v, want errUnsealed", err)
		}
	})
}

func TestParse(t *testing.T) {
	got, err := Parse(map[string]string{"Mailgun.APIKey": Mask, "Mailgun.Enable": "true", "General.ApplicationName": "x"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{{ID: "General.ApplicationName", Value: "x"}, {ID: "Mailgun.Enable", Value: "true"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("changes (-want +got), the masked secret left out:\n%s", d)
	}
	// The first bad id in order is the one reported.
	_, err = Parse(map[string]string{"Z.Unknown": "1", "Mailgun.Enable": "maybe"})
	var de *domain.Error
	if !errors.As(err, &de) || de.Field != "Mailgun.Enable" {
		t.Errorf("two bad values: got %v, want the error on Mailgun.Enable", err)
	}
}
