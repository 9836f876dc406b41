package user

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/notification"
	"github.com/oncallhq/goalert/events"
)

// Verification and test message rules.
const (
	// CodeTTL is how long a verification code is valid.
	CodeTTL = 15 * time.Minute
	// MessageInterval is the least time between two test or verification
	// messages to one contact method.
	MessageInterval = time.Minute
	// MaxRuleDelay is the longest notification rule delay, in minutes.
	MaxRuleDelay = 9000
)

// Errors about contact methods and rules.
var (
	ErrContactMethodNotFound = domain.NotFound("contact_method_not_found", "contact method not found")
	ErrRuleNotFound          = domain.NotFound("notification_rule_not_found", "notification rule not found")
	ErrDestTaken             = domain.Conflict("contact_method_exists", "a contact method with this destination already exists")
	ErrRuleExists            = domain.Conflict("notification_rule_exists", "a rule with this delay already exists for the contact method")
	ErrTooManyContactMethods = domain.Limit("contact_methods_per_user", "too many contact methods for this user")
	ErrTooManyRules          = domain.Limit("notification_rules_per_user", "too many notification rules for this user")
	ErrTooSoon               = domain.Limit("message_rate", "a test or verification message was sent less than a minute ago; try again shortly")
	ErrBadCode               = domain.Invalid("invalid_code", "the verification code is wrong or has expired")
	ErrNoCode                = domain.Invalid("no_code", "no verification code was sent, or it has expired; send a new one")
	ErrContactMethodDisabled = domain.Conflict("contact_method_disabled", "the contact method is disabled; verify it first")
)

// ContactMethod is a way to reach a user.
type ContactMethod struct {
	ID            string
	Name          string
	Dest          notification.Dest
	StatusUpdates bool
	Disabled      bool
	// Pending is set until the first verification.
	Pending bool

	codeHash     string
	codeExpires  time.Time
	lastMessage  time.Time
	verifiedOnce bool
}

// Rule is a notification rule.
type Rule struct {
	ID              string
	ContactMethodID string
	DelayMinutes    int
}

// DestKey is the identity of a destination: contact methods with the same
// key reach the same place, and only one may exist.
func DestKey(d notification.Dest) string {
	var b strings.Builder
	b.WriteString(d.Type)
	keys := make([]string, 0, len(d.Args))
	for k := range d.Args {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteString("|" + k + "=" + d.Args[k])
	}
	return b.String()
}

var phoneRE = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
var slackIDRE = regexp.MustCompile(`^[A-Z0-9]{6,20}$`)

// NormalizeDest checks a contact method destination and returns it in its
// stored form.
func NormalizeDest(d notification.Dest) (notification.Dest, error) {
	arg := func(name string) (string, error) {
		v := strings.TrimSpace(d.Args[name])
		if v == "" {
			return "", domain.FieldErrorf("dest", "%s needs the argument %s", d.Type, name)
		}
		return v, nil
	}
	one := func(name string, check func(string) error) (notification.Dest, error) {
		v, err := arg(name)
		if err != nil {
			return d, err
		}
		if err := check(v); err != nil {
			return d, err
		}
		return notification.Dest{Type: d.Type, Args: map[string]string{name: v}}, nil
	}
	switch d.Type {
	case notification.DestSMS, notification.DestVoice:
		return one(notification.ArgPhoneNumber, func(v string) error {
			if !phoneRE.MatchString(v) {
				return domain.FieldErrorf("dest", "%q is not a phone number in E.164 form (+15555550100)", v)
			}
			return nil
		})
	case notification.DestEmail:
		return one(notification.ArgEmailAddress, func(v string) error {
			a, err := mail.ParseAddress(v)
			if err != nil || a.Address != v {
				return domain.FieldErrorf("dest", "%q is not an email address", v)
			}
			return nil
		})
	case notification.DestWebhook:
		return one(notification.ArgWebhookURL, ValidateWebhookURL)
	case notification.DestSlackDM:
		return one(notification.ArgSlackUserID, func(v string) error {
			if !slackIDRE.MatchString(v) {
				return domain.FieldErrorf("dest", "%q is not a Slack user id", v)
			}
			return nil
		})
	}
	return d, domain.FieldErrorf("dest", "unknown contact method type %q", d.Type)
}

// ValidateWebhookURL checks a webhook address: absolute http(s).
func ValidateWebhookURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return domain.FieldErrorf("dest", "%q is not an http(s) URL", v)
	}
	if len(v) > 2048 {
		return domain.FieldError("dest", "webhook URL must be at most 2048 characters")
	}
	return nil
}

func validateCMName(name string) error {
	if strings.TrimSpace(name) == "" {
		return domain.FieldError("name", "must not be empty")
	}
	if utf8.RuneCountInString(name) > 255 {
		return domain.FieldError("name", "must be at most 255 characters")
	}
	return nil
}

func (u *User) applyContact(e events.Event, at time.Time) {
	switch e := e.(type) {
	case events.ContactMethodAdded:
		u.cms = append(u.cms, &ContactMethod{ID: e.ContactMethodID, Name: e.Name,
			Dest: notification.Dest{Type: e.Dest.Type, Args: e.Dest.Args}, StatusUpdates: e.StatusUpdates,
			Disabled: e.Disabled, Pending: e.Disabled})
	case events.ContactMethodUpdated:
		if cm := u.ContactMethod(e.ContactMethodID); cm != nil {
			cm.Name, cm.StatusUpdates = e.Name, e.StatusUpdates
		}
	case events.ContactMethodVerificationSent:
		if cm := u.ContactMethod(e.ContactMethodID); cm != nil {
			cm.codeHash, cm.codeExpires, cm.lastMessage = e.CodeHash, e.ExpiresAt, at
		}
	case events.ContactMethodTestSent:
		if cm := u.ContactMethod(e.ContactMethodID); cm != nil {
			cm.lastMessage = at
		}
	case events.ContactMethodEnabled:
		if cm := u.ContactMethod(e.ContactMethodID); cm != nil {
			cm.Disabled, cm.Pending = false, false
			if e.Reason == "verified" {
				cm.codeHash = ""
			}
		}
	case events.ContactMethodDisabled:
		if cm := u.ContactMethod(e.ContactMethodID); cm != nil {
			cm.Disabled = true
		}
	case events.ContactMethodRemoved:
		u.cms = slices.DeleteFunc(u.cms, func(c *ContactMethod) bool { return c.ID == e.ContactMethodID })
		u.rules = slices.DeleteFunc(u.rules, func(r Rule) bool { return r.ContactMethodID == e.ContactMethodID })
	case events.NotificationRuleAdded:
		u.rules = append(u.rules, Rule{ID: e.RuleID, ContactMethodID: e.ContactMethodID, DelayMinutes: e.DelayMinutes})
	case events.NotificationRuleRemoved:
		u.rules = slices.DeleteFunc(u.rules, func(r Rule) bool { return r.ID == e.RuleID })
	}
}

// ContactMethods returns the user's contact methods in the order added.
// Callers must not modify them.
func (u *User) ContactMethods() []*ContactMethod { return u.cms }

// ContactMethod returns the contact method with id, or nil.
func (u *User) ContactMethod(id string) *ContactMethod {
	for _, cm := range u.cms {
		if cm.ID == id {
			return cm
		}
	}
	return nil
}

// Rules returns the user's notification rules.
func (u *User) Rules() []Rule { return u.rules }

// AddContactMethod decides adding a contact method (disabled until
// verified). dest must be normalized; the caller guarantees no other
// contact method has the same DestKey.
func (u *User) AddContactMethod(id, name string, dest notification.Dest, statusUpdates bool, max int) ([]events.Event, error) {
	if !u.Exists() {
		return nil, ErrNotFound
	}
	if err := validateCMName(name); err != nil {
		return nil, err
	}
	if max >= 0 && len(u.cms) >= max {
		return nil, ErrTooManyContactMethods
	}
	for _, cm := range u.cms {
		if DestKey(cm.Dest) == DestKey(dest) {
			return nil, ErrDestTaken
		}
	}
	return []events.Event{events.ContactMethodAdded{UserID: u.id, ContactMethodID: id, Name: name,
		Dest: events.Dest{Type: dest.Type, Args: dest.Args}, StatusUpdates: statusUpdates, Disabled: true}}, nil
}

// UpdateContactMethod decides a change of name or status updates.
func (u *User) UpdateContactMethod(id, name string, statusUpdates bool) ([]events.Event, error) {
	cm, err := u.liveCM(id)
	if err != nil {
		return nil, err
	}
	if err := validateCMName(name); err != nil {
		return nil, err
	}
	if name == cm.Name && statusUpdates == cm.StatusUpdates {
		return nil, nil
	}
	return []events.Event{events.ContactMethodUpdated{UserID: u.id, ContactMethodID: id, Name: name, StatusUpdates: statusUpdates}}, nil
}

// RemoveContactMethod decides deleting a contact method and its rules.
func (u *User) RemoveContactMethod(id string) ([]events.Event, error) {
	if _, err := u.liveCM(id); err != nil {
		return nil, err
	}
	return []events.Event{events.ContactMethodRemoved{UserID: u.id, ContactMethodID: id}}, nil
}

func (u *User) liveCM(id string) (*ContactMethod, error) {
	if !u.Exists() {
		return nil, ErrNotFound
	}
	cm := u.ContactMethod(id)
	if cm == nil {
		return nil, ErrContactMethodNotFound
	}
	return cm, nil
}

// HashCode is how a verification code is kept: never the code itself.
func HashCode(cmID, code string) string {
	sum := sha256.Sum256([]byte(cmID + ":" + code))
	return hex.EncodeToString(sum[:])
}

// SendVerification decides sending code (6 digits) to a contact method,
// at most one test or verification message a minute.
func (u *User) SendVerification(id, code, messageID string, now time.Time) ([]events.Event, error) {
	cm, err := u.liveCM(id)
	if err != nil {
		return nil, err
	}
	if now.Sub(cm.lastMessage) < MessageInterval {
		return nil, ErrTooSoon
	}
	return []events.Event{events.ContactMethodVerificationSent{UserID: u.id, ContactMethodID: id,
		CodeHash: HashCode(id, code), ExpiresAt: now.Add(CodeTTL), MessageID: messageID}}, nil
}

// Verify decides the outcome of a verification code: the contact method
// is enabled when code is the unexpired code sent last.
func (u *User) Verify(id, code string, now time.Time) ([]events.Event, error) {
	cm, err := u.liveCM(id)
	if err != nil {
		return nil, err
	}
	if cm.codeHash == "" || !now.Before(cm.codeExpires) {
		return nil, ErrNoCode
	}
	if subtle.ConstantTimeCompare([]byte(HashCode(id, strings.TrimSpace(code))), []byte(cm.codeHash)) != 1 {
		return nil, ErrBadCode
	}
	return []events.Event{events.ContactMethodEnabled{UserID: u.id, ContactMethodID: id, Reason: "verified"}}, nil
}

// SendTest decides sending a test message, at most one test or
// verification message a minute, and only to an enabled contact method.
func (u *User) SendTest(id, messageID string, now time.Time) ([]events.Event, error) {
	cm, err := u.liveCM(id)
	if err != nil {
		return nil, err
	}
	if cm.Disabled {
		return nil, ErrContactMethodDisabled
	}
	if now.Sub(cm.lastMessage) < MessageInterval {
		return nil, ErrTooSoon
	}
	return []events.Event{events.ContactMethodTestSent{UserID: u.id, ContactMethodID: id, MessageID: messageID}}, nil
}

// SetEnabled decides a STOP (enabled false) or START (true) for a contact
// method; reason is recorded. Only a verified contact method is enabled by
// START.
func (u *User) SetEnabled(id string, enabled bool, reason string) ([]events.Event, error) {
	cm, err := u.liveCM(id)
	if err != nil {
		return nil, err
	}
	switch {
	case enabled && (cm.Pending || !cm.Disabled):
		return nil, nil
	case !enabled && cm.Disabled:
		return nil, nil
	case enabled:
		return []events.Event{events.ContactMethodEnabled{UserID: u.id, ContactMethodID: id, Reason: reason}}, nil
	}
	return []events.Event{events.ContactMethodDisabled{UserID: u.id, ContactMethodID: id, Reason: reason}}, nil
}

// AddRule decides a notification rule: the contact method is notified
// delay minutes after an escalation step pages the user.
func (u *User) AddRule(id, cmID string, delay, max int) ([]events.Event, error) {
	if _, err := u.liveCM(cmID); err != nil {
		return nil, err
	}
	if delay < 0 || delay > MaxRuleDelay {
		return nil, domain.FieldErrorf("delayMinutes", "must be between 0 and %d", MaxRuleDelay)
	}
	for _, r := range u.rules {
		if r.ContactMethodID == cmID && r.DelayMinutes == delay {
			return nil, ErrRuleExists
		}
	}
	if max >= 0 && len(u.rules) >= max {
		return nil, ErrTooManyRules
	}
	return []events.Event{events.NotificationRuleAdded{UserID: u.id, RuleID: id, ContactMethodID: cmID, DelayMinutes: delay}}, nil
}

// RemoveRule decides deleting a notification rule.
func (u *User) RemoveRule(id string) ([]events.Event, error) {
	if !u.Exists() {
		return nil, ErrNotFound
	}
	for _, r := range u.rules {
		if r.ID == id {
			return []events.Event{events.NotificationRuleRemoved{UserID: u.id, RuleID: id}}, nil
		}
	}
	return nil, ErrRuleNotFound
}
