// Package config is the admin configuration: the catalogue of settings
// with GoAlert's ids ("Mailgun.APIKey"), their types, defaults and rules,
// and the decision of what an admin's change stores.
//
// Values travel as strings, as GoAlert's GraphQL API carries them: booleans
// are "true" or "false", integers are decimal, and a string list is its
// entries joined by "\n".
package config

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/events"
)

// Type is a setting's value type, named as GraphQL's ConfigType enum.
type Type string

const (
	TypeString     Type = "string"
	TypeStringList Type = "stringList"
	TypeInteger    Type = "integer"
	TypeBoolean    Type = "boolean"
)

// Mask stands in for a secret that is set: secrets are never shown, and
// writing Mask back leaves the secret unchanged, so a client may send back
// everything it read.
const Mask = "********"

// Stream is the stream of every config change.
const Stream = "config-values"

// maxLength bounds any one value, in characters.
const maxLength = 4096

// Field is one setting.
type Field struct {
	ID          string // "Section.Name"
	Type        Type
	Description string
	Default     string
	// Password marks a secret: stored sealed, never shown.
	Password bool
	// Public settings are shown to every signed-in user, because the UI
	// needs them (which contact methods exist, the application name);
	// the rest only to admins.
	Public bool
	// ReadOnly settings come from a flag; admins cannot change them here.
	ReadOnly bool
	// check, when set, vets a normalized, non-empty value and returns
	// what is wrong with it, or "".
	check func(string) string
}

// Section is the part of the id before the dot ("Mailgun").
func (f Field) Section() string { s, _, _ := strings.Cut(f.ID, "."); return s }

// Name is the part of the id after the dot ("APIKey").
func (f Field) Name() string { _, n, _ := strings.Cut(f.ID, "."); return n }

// Display is v as it may be shown: a set secret is Mask, an unset one "".
func (f Field) Display(v string) string {
	if f.Password && v != "" {
		return Mask
	}
	return v
}

var fields = withDefaults([]Field{
	{ID: "General.ApplicationName", Type: TypeString, Public: true, Description: "The name shown in the UI and in messages; empty means GoAlert."},
	{ID: "General.PublicURL", Type: TypeString, Public: true, ReadOnly: true, Description: "Externally routable URL of the application; set with --public-url."},
	{ID: "General.DisableMessageBundles", Type: TypeBoolean, Public: true, Description: "Send every alert notification and status update on its own instead of bundling them per service (which also allows 'ack/close all' replies)."},
	{ID: "General.ShortURL", Type: TypeString, Public: true, check: absoluteURL, Description: "If set, messages link with this shorter URL prefix (e.g. http://example.com); it must reach this server and may equal the public URL."},
	{ID: "General.DisableSMSLinks", Type: TypeBoolean, Public: true, Description: "Leave the link to the alert out of SMS messages."},
	{ID: "General.DisableCalendarSubscriptions", Type: TypeBoolean, Public: true, Description: "Disable every calendar subscription, and the creation of new ones."},

	{ID: "Maintenance.AlertCleanupDays", Type: TypeInteger, Public: true, check: days, Description: "Delete closed alerts after this many days (0 keeps them)."},
	{ID: "Maintenance.AlertAutoCloseDays", Type: TypeInteger, Public: true, check: days, Description: "Close unacknowledged alerts after this many days (0 never closes them)."},
	{ID: "Maintenance.AutoCloseAckedAlerts", Type: TypeBoolean, Public: true, Description: "Let AlertAutoCloseDays close acknowledged alerts too."},
	{ID: "Maintenance.APIKeyExpireDays", Type: TypeInteger, Public: true, check: days, Description: "Disable calendar subscription tokens unused for this many days (0 never disables them)."},
	{ID: "Maintenance.ScheduleCleanupDays", Type: TypeInteger, Public: true, check: days, Description: "Delete schedule shift history older than this many days (0 keeps it)."},

	{ID: "Auth.DisableBasic", Type: TypeBoolean, Public: true, Description: "Disallow username and password sign-in."},

	{ID: "GitHub.Enable", Type: TypeBoolean, Public: true, Description: "Enable GitHub sign-in."},
	{ID: "GitHub.ClientID", Type: TypeString, check: asciiKey, Description: "OAuth client ID of the GitHub app."},
	{ID: "GitHub.ClientSecret", Type: TypeString, Password: true, check: asciiKey, Description: "OAuth client secret of the GitHub app."},
	{ID: "GitHub.AllowedUsers", Type: TypeStringList, Description: "GitHub usernames allowed to sign in; '*' allows any user."},
	{ID: "GitHub.AllowedOrgs", Type: TypeStringList, Description: "Members of these GitHub orgs (or teams, as 'org/team') may sign in."},

	{ID: "OIDC.Enable", Type: TypeBoolean, Public: true, Description: "Enable OpenID Connect sign-in."},
	{ID: "OIDC.ClientID", Type: TypeString, Description: "OAuth client ID at the identity provider."},
	{ID: "OIDC.ClientSecret", Type: TypeString, Password: true, Description: "OAuth client secret at the identity provider."},
	{ID: "OIDC.IssuerURL", Type: TypeString, check: absoluteURL, Description: "Issuer URL of the identity provider (e.g. https://accounts.google.com)."},
	{ID: "OIDC.OverrideName", Type: TypeString, Description: "Name of the provider on the sign-in page instead of OIDC."},

	{ID: "Mailgun.Enable", Type: TypeBoolean, Public: true, Description: "Accept alerts by email through a Mailgun route to /api/v2/mailgun/incoming."},
	{ID: "Mailgun.APIKey", Type: TypeString, Password: true, check: asciiKey, Description: "Mailgun private API key; it verifies the signature of each forwarded email."},
	{ID: "Mailgun.EmailDomain", Type: TypeString, check: emailDomain, Description: "The domain of every alert-creating address (<integration key>@<domain>)."},

	{ID: "Slack.Enable", Type: TypeBoolean, Public: true, Description: "Enable Slack channels as notification targets."},
	{ID: "Slack.ClientID", Type: TypeString, check: asciiKey, Description: "Client ID of the Slack app."},
	{ID: "Slack.ClientSecret", Type: TypeString, Password: true, check: asciiKey, Description: "Client secret of the Slack app."},
	{ID: "Slack.AccessToken", Type: TypeString, Password: true, check: asciiKey, Description: "Bot user OAuth access token of the Slack app (starts with xoxb-)."},
	{ID: "Slack.SigningSecret", Type: TypeString, Password: true, check: asciiKey, Description: "Signing secret of the Slack app; it verifies interactive requests."},
	{ID: "Slack.InteractiveMessages", Type: TypeBoolean, Description: "Add acknowledge and close buttons to Slack messages."},

	{ID: "Twilio.Enable", Type: TypeBoolean, Public: true, Description: "Send and receive SMS and voice calls through Twilio."},
	{ID: "Twilio.AccountSID", Type: TypeString, check: asciiKey, Description: "Twilio account SID."},
	{ID: "Twilio.AuthToken", Type: TypeString, Password: true, check: asciiKey, Description: "The primary auth token of the Twilio account; it also verifies Twilio's requests."},
	{ID: "Twilio.FromNumber", Type: TypeString, Public: true, check: phone, Description: "The Twilio number notifications come from, in E.164 form (+15555550100)."},
	{ID: "Twilio.MessagingServiceSID", Type: TypeString, check: asciiKey, Description: "If set, SMS go through this Twilio messaging service instead of FromNumber."},
	{ID: "Twilio.DisableTwoWaySMS", Type: TypeBoolean, Description: "Leave reply codes out of alert SMS."},

	{ID: "SMTP.Enable", Type: TypeBoolean, Public: true, Description: "Enable email as a contact method."},
	{ID: "SMTP.From", Type: TypeString, Public: true, check: emailAddress, Description: "The address email notifications come from."},
	{ID: "SMTP.Address", Type: TypeString, Description: "The SMTP server to send through, as host or host:port."},
	{ID: "SMTP.Username", Type: TypeString, Description: "Username for the SMTP server."},
	{ID: "SMTP.Password", Type: TypeString, Password: true, Description: "Password for the SMTP server."},
	{ID: "SMTP.DisableTLS", Type: TypeBoolean, Description: "Connect to the SMTP server without TLS (STARTTLS is still used when offered)."},

	{ID: "Webhook.Enable", Type: TypeBoolean, Public: true, Description: "Enable webhooks as a contact method."},
	{ID: "Webhook.AllowedURLs", Type: TypeStringList, Public: true, check: absoluteURLs, Description: "If set, webhooks may only go to URLs starting with one of these."},
})

// withDefaults gives booleans and integers without a default their zero
// value, so that every value shown parses as its type.
func withDefaults(fs []Field) []Field {
	for i, f := range fs {
		switch {
		case f.Default != "":
		case f.Type == TypeBoolean:
			fs[i].Default = "false"
		case f.Type == TypeInteger:
			fs[i].Default = "0"
		}
	}
	return fs
}

// requirements lists, per section, what must be set before its Enable may
// be true; each inner list holds alternatives, one of which is enough.
var requirements = []struct {
	section string
	needs   [][]string
}{
	{"GitHub", [][]string{{"GitHub.ClientID"}, {"GitHub.ClientSecret"}}},
	{"OIDC", [][]string{{"OIDC.IssuerURL"}, {"OIDC.ClientID"}, {"OIDC.ClientSecret"}}},
	{"Mailgun", [][]string{{"Mailgun.APIKey"}, {"Mailgun.EmailDomain"}}},
	{"Slack", [][]string{{"Slack.ClientID"}, {"Slack.ClientSecret"}}},
	{"Twilio", [][]string{{"Twilio.AccountSID"}, {"Twilio.AuthToken"}, {"Twilio.FromNumber", "Twilio.MessagingServiceSID"}}},
	{"SMTP", [][]string{{"SMTP.From"}, {"SMTP.Address"}}},
}

var byID = func() map[string]int {
	m := make(map[string]int, len(fields))
	for i, f := range fields {
		m[f.ID] = i
	}
	return m
}()

// Fields returns every setting, in the catalogue's order (by section).
func Fields() []Field { return slices.Clone(fields) }

// Lookup returns the setting with id.
func Lookup(id string) (Field, bool) {
	i, ok := byID[id]
	if !ok {
		return Field{}, false
	}
	return fields[i], true
}

// Values is a complete set of settings by id. Readers share one Values;
// nobody modifies it after it is built.
type Values map[string]string

// Defaults returns every setting at its default.
func Defaults() Values {
	v := make(Values, len(fields))
	for _, f := range fields {
		v[f.ID] = f.Default
	}
	return v
}

// String returns the value of id.
func (v Values) String(id string) string { return v[id] }

// Bool reports whether the boolean id is "true".
func (v Values) Bool(id string) bool { return v[id] == "true" }

// Int returns the integer id, 0 when unset.
func (v Values) Int(id string) int {
	n, _ := strconv.Atoi(v[id])
	return n
}

// Strings returns the entries of the string list id.
func (v Values) Strings(id string) []string {
	if v[id] == "" {
		return nil
	}
	return strings.Split(v[id], "\n")
}

// Normalize checks v against the field's type and rules and returns it in
// canonical form: booleans "true" or "false", integers in decimal, lists
// without blank entries or surrounding spaces.
func (f Field) Normalize(v string) (string, error) {
	if f.ReadOnly {
		return "", domain.FieldError(f.ID, "is read-only: it is set by a flag of the server")
	}
	if utf8.RuneCountInString(v) > maxLength {
		return "", domain.FieldErrorf(f.ID, "must be at most %d characters", maxLength)
	}
	switch f.Type {
	case TypeBoolean:
		switch strings.TrimSpace(v) {
		case "true":
			return "true", nil
		case "false":
			return "false", nil
		}
		return "", domain.FieldError(f.ID, `must be "true" or "false"`)
	case TypeInteger:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return "", domain.FieldError(f.ID, "must be a whole number")
		}
		v = strconv.Itoa(n)
	case TypeStringList:
		var list []string
		for _, s := range strings.Split(v, "\n") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		v = strings.Join(list, "\n")
	case TypeString:
		if !f.Password {
			// Secrets are kept byte for byte; elsewhere stray spaces
			// from a paste are never meant.
			v = strings.TrimSpace(v)
		}
	}
	if f.check != nil && v != "" {
		if msg := f.check(v); msg != "" {
			return "", domain.FieldError(f.ID, msg)
		}
	}
	return v, nil
}

// Change is one setting to store. A secret's Value is sealed (encrypted)
// before it reaches Set, and Sealed says so.
type Change struct {
	ID     string
	Value  string
	Secret bool
	Sealed bool
}

// Parse checks an admin's new values (by id) and returns them as changes,
// normalized and in id order. A secret given as Mask is left out: it
// stays as it is. The first bad value, in id order, is the error: a field
// error naming the id, for an unknown id, a read-only setting or a value
// of the wrong type.
func Parse(values map[string]string) ([]Change, error) {
	ids := make([]string, 0, len(values))
	for id := range values {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]Change, 0, len(ids))
	for _, id := range ids {
		f, ok := Lookup(id)
		if !ok {
			return nil, domain.FieldErrorf(id, "unknown config id %q", id)
		}
		if f.Password && values[id] == Mask {
			continue
		}
		v, err := f.Normalize(values[id])
		if err != nil {
			return nil, err
		}
		out = append(out, Change{ID: id, Value: v, Secret: f.Password})
	}
	return out, nil
}

// errUnsealed guards the promise that secrets are never written in the
// clear: a caller that forgot to seal one is a bug, not bad input.
var errUnsealed = errors.New("config: a secret reached Set unsealed")

// Set decides storing changes over the stored values cur (by id; unset
// ids are at their default, and secrets are sealed). It drops changes
// that store what is already there, and refuses to leave a section
// enabled without what it needs (Mailgun without an API key, say): a
// field error on "<Section>.Enable". It returns one ConfigValueSet per
// remaining change; none when nothing changes.
func Set(cur map[string]string, changes []Change) ([]events.Event, error) {
	stored := func(id string) string {
		if v, ok := cur[id]; ok {
			return v
		}
		f, _ := Lookup(id)
		return f.Default
	}
	next := map[string]string{}
	touched := map[string]bool{}
	var evs []events.Event
	for _, c := range changes {
		f, ok := Lookup(c.ID)
		if !ok {
			return nil, domain.FieldErrorf(c.ID, "unknown config id %q", c.ID)
		}
		if f.Password && c.Value != "" && !c.Sealed {
			return nil, fmt.Errorf("%w: %s", errUnsealed, c.ID)
		}
		// A sealed secret never equals its stored form (each sealing
		// uses a fresh nonce), so only an unchanged empty one is dropped.
		if c.Value == stored(c.ID) && !c.Sealed {
			continue
		}
		next[c.ID] = c.Value
		touched[f.Section()] = true
		evs = append(evs, events.ConfigValueSet{ID: c.ID, Value: c.Value, Encrypted: c.Sealed})
	}
	after := func(id string) string {
		if v, ok := next[id]; ok {
			return v
		}
		return stored(id)
	}
	for _, r := range requirements {
		if !touched[r.section] || after(r.section+".Enable") != "true" {
			continue
		}
		for _, alts := range r.needs {
			if !slices.ContainsFunc(alts, func(id string) bool { return after(id) != "" }) {
				return nil, domain.FieldErrorf(r.section+".Enable", "requires %s to be set", strings.Join(alts, " or "))
			}
		}
	}
	return evs, nil
}

func days(v string) string {
	if n, _ := strconv.Atoi(v); n < 0 || n > 9000 {
		return "must be between 0 and 9000"
	}
	return ""
}

func absoluteURL(v string) string {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "must be an absolute http or https URL"
	}
	return ""
}

func absoluteURLs(v string) string {
	for _, s := range strings.Split(v, "\n") {
		if msg := absoluteURL(s); msg != "" {
			return fmt.Sprintf("%q: %s", s, msg)
		}
	}
	return ""
}

// asciiKey is GoAlert's rule for provider keys and ids: up to 128
// printable ASCII characters, which catches a pasted line break or a
// truncated copy from a rich-text page.
func asciiKey(v string) string {
	if len(v) > 128 {
		return "must be at most 128 characters"
	}
	for _, r := range v {
		if r < 0x21 || r > 0x7e {
			return "must be printable ASCII without spaces"
		}
	}
	return ""
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func phone(v string) string {
	if !e164.MatchString(v) {
		return "must be a phone number in E.164 form, such as +15555550100"
	}
	return ""
}

func emailAddress(v string) string {
	if _, err := mail.ParseAddress(v); err != nil {
		return "must be an email address"
	}
	return ""
}

func emailDomain(v string) string {
	if strings.ContainsAny(v, "@ ") || strings.HasPrefix(v, ".") {
		return "must be a domain name such as alerts.example.com"
	}
	if a, err := mail.ParseAddress("key@" + v); err != nil || a.Address != "key@"+v {
		return "must be a domain name such as alerts.example.com"
	}
	return ""
}
