package graphqlapi

// Users' contact methods and notification rules. Anyone signed in may read
// them; a user changes their own, an admin anyone's.

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/notification"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/projections/paging"
)

var errNotYourContacts = domain.Forbidden("not_your_user", "only an admin may change another user's contact methods and notification rules")

// mayEditContacts reports whether the caller may change userID's contact
// methods and rules.
func mayEditContacts(ctx context.Context, userID string) error {
	if p := principal(ctx); p.UserID == userID || p.IsAdmin() {
		return nil
	}
	return errNotYourContacts
}

// contactMethod reads a contact method, as user.ErrContactMethodNotFound
// when there is none.
func (r *resolver) contactMethod(ctx context.Context, id string) (paging.ContactMethod, error) {
	cm, err := r.d.Paging.ContactMethod(ctx, id)
	if errors.Is(err, paging.ErrNotFound) {
		return cm, user.ErrContactMethodNotFound
	}
	return cm, err
}

// editableContactMethod reads a contact method the caller may change.
func (r *resolver) editableContactMethod(ctx context.Context, id string) (paging.ContactMethod, error) {
	cm, err := r.contactMethod(ctx, id)
	if err != nil {
		return cm, err
	}
	return cm, mayEditContacts(ctx, cm.UserID)
}

func (r *resolver) UserContactMethod(ctx context.Context, args struct{ ID graphql.ID }) (*contactMethodRes, error) {
	cm, err := r.contactMethod(ctx, string(args.ID))
	if errors.Is(err, user.ErrContactMethodNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &contactMethodRes{cm, r}, nil
}

type ruleInput struct {
	UserID          *graphql.ID
	ContactMethodID *graphql.ID
	DelayMinutes    int32
}

func (r *resolver) CreateUserContactMethod(ctx context.Context, args struct {
	Input struct {
		UserID                  graphql.ID
		Name                    string
		Dest                    *destInput
		Type                    *string
		Value                   *string
		EnableStatusUpdates     *bool
		NewUserNotificationRule *ruleInput
	}
}) (*contactMethodRes, error) {
	in := args.Input
	if err := mayEditContacts(ctx, string(in.UserID)); err != nil {
		return nil, err
	}
	var dest notification.Dest
	switch {
	case in.Dest != nil:
		d := in.Dest.dest()
		dest = notification.Dest{Type: d.Type, Args: d.Args}
	case in.Type != nil && in.Value != nil:
		lt := contactMethodTypes[*in.Type]
		dest = notification.Dest{Type: lt.destType, Args: map[string]string{lt.arg: *in.Value}}
	default:
		return nil, domain.FieldError("dest", "is required (or the older type and value)")
	}
	if err := r.checkDests(events.Dest{Type: dest.Type, Args: dest.Args}); err != nil {
		return nil, err
	}
	c := commands.NewContactMethod{UserID: string(in.UserID), Name: in.Name, Dest: dest,
		StatusUpdates: in.EnableStatusUpdates != nil && *in.EnableStatusUpdates}
	if nr := in.NewUserNotificationRule; nr != nil {
		delay := int(nr.DelayMinutes)
		c.NewRuleDelay = &delay
	}
	id, res, err := r.d.Commands.AddContactMethod(ctx, c)
	if err != nil {
		return nil, err
	}
	if err := r.wait(ctx, res); err != nil {
		return nil, err
	}
	return r.UserContactMethod(ctx, struct{ ID graphql.ID }{graphql.ID(id)})
}

func (r *resolver) UpdateUserContactMethod(ctx context.Context, args struct {
	Input struct {
		ID                  graphql.ID
		Name                *string
		Value               *string
		EnableStatusUpdates *bool
	}
}) (bool, error) {
	in := args.Input
	cm, err := r.editableContactMethod(ctx, string(in.ID))
	if err != nil {
		return false, err
	}
	if in.Value != nil && *in.Value != mainArg(cm.Dest) {
		return false, domain.FieldError("value", "a contact method's destination cannot change; add a new contact method instead")
	}
	res, err := r.d.Commands.UpdateContactMethod(ctx, cm.UserID, cm.ID, in.Name, in.EnableStatusUpdates)
	if err != nil {
		return false, err
	}
	return true, r.wait(ctx, res)
}

func (r *resolver) SendContactMethodVerification(ctx context.Context, args struct {
	Input struct{ ContactMethodID graphql.ID }
}) (bool, error) {
	cm, err := r.editableContactMethod(ctx, string(args.Input.ContactMethodID))
	if err != nil {
		return false, err
	}
	res, err := r.d.Commands.SendVerification(ctx, cm.UserID, cm.ID)
	if err != nil {
		return false, err
	}
	return true, r.wait(ctx, res)
}

func (r *resolver) VerifyContactMethod(ctx context.Context, args struct {
	Input struct {
		ContactMethodID graphql.ID
		Code            int32
	}
}) (bool, error) {
	cm, err := r.editableContactMethod(ctx, string(args.Input.ContactMethodID))
	if err != nil {
		return false, err
	}
	res, err := r.d.Commands.VerifyContactMethod(ctx, cm.UserID, cm.ID, strconv.Itoa(int(args.Input.Code)))
	if err != nil {
		return false, err
	}
	return true, r.wait(ctx, res)
}

func (r *resolver) TestContactMethod(ctx context.Context, args struct{ ID graphql.ID }) (bool, error) {
	cm, err := r.editableContactMethod(ctx, string(args.ID))
	if err != nil {
		return false, err
	}
	res, err := r.d.Commands.TestContactMethod(ctx, cm.UserID, cm.ID)
	if err != nil {
		return false, err
	}
	return true, r.wait(ctx, res)
}

// CreateUserNotificationRule adds a rule for a contact method; userID,
// when given, must be the contact method's owner.
func (r *resolver) CreateUserNotificationRule(ctx context.Context, args struct{ Input ruleInput }) (*ruleRes, error) {
	in := args.Input
	if in.ContactMethodID == nil {
		return nil, domain.FieldError("contactMethodID", "is required")
	}
	cm, err := r.editableContactMethod(ctx, string(*in.ContactMethodID))
	if err != nil {
		return nil, err
	}
	if in.UserID != nil && string(*in.UserID) != cm.UserID {
		return nil, domain.FieldError("contactMethodID", "is not a contact method of that user")
	}
	id, res, err := r.d.Commands.AddNotificationRule(ctx, cm.UserID, cm.ID, int(in.DelayMinutes))
	if err != nil {
		return nil, err
	}
	if err := r.wait(ctx, res); err != nil {
		return nil, err
	}
	rule, err := r.d.Paging.Rule(ctx, id)
	if err != nil {
		return nil, err
	}
	return &ruleRes{rule, r}, nil
}

// deleteContactMethod and deleteRule serve deleteAll.
func (r *resolver) deleteContactMethod(ctx context.Context, id string) (commands.Result, error) {
	cm, err := r.editableContactMethod(ctx, id)
	if err != nil {
		return commands.Result{}, err
	}
	return r.d.Commands.RemoveContactMethod(ctx, cm.UserID, cm.ID)
}

func (r *resolver) deleteRule(ctx context.Context, id string) (commands.Result, error) {
	rule, err := r.d.Paging.Rule(ctx, id)
	if errors.Is(err, paging.ErrNotFound) {
		return commands.Result{}, user.ErrRuleNotFound
	}
	if err != nil {
		return commands.Result{}, err
	}
	if err := mayEditContacts(ctx, rule.UserID); err != nil {
		return commands.Result{}, err
	}
	return r.d.Commands.RemoveNotificationRule(ctx, rule.UserID, rule.ID)
}

func (u *userRes) ContactMethods(ctx context.Context) ([]*contactMethodRes, error) {
	cms, err := u.r.d.Paging.ContactMethods(ctx, u.u.ID)
	if err != nil {
		return nil, err
	}
	out := make([]*contactMethodRes, len(cms))
	for i, cm := range cms {
		out[i] = &contactMethodRes{cm, u.r}
	}
	return out, nil
}

func (u *userRes) NotificationRules(ctx context.Context) ([]*ruleRes, error) {
	rules, err := u.r.d.Paging.Rules(ctx, u.u.ID)
	if err != nil {
		return nil, err
	}
	out := make([]*ruleRes, len(rules))
	for i, rule := range rules {
		out[i] = &ruleRes{rule, u.r}
	}
	return out, nil
}

type contactMethodRes struct {
	cm paging.ContactMethod
	r  *resolver
}

func (c *contactMethodRes) ID() graphql.ID { return graphql.ID(c.cm.ID) }
func (c *contactMethodRes) Name() string   { return c.cm.Name }
func (c *contactMethodRes) Dest() destRes  { return destRes{c.cm.Dest, c.r} }
func (c *contactMethodRes) Value() string  { return mainArg(c.cm.Dest) }
func (c *contactMethodRes) Disabled() bool { return c.cm.Disabled }
func (c *contactMethodRes) Pending() bool  { return c.cm.Pending }

func (c *contactMethodRes) Type() *string {
	name, _ := legacyTypeOf(c.cm.Dest.Type)
	if name == "" {
		return nil
	}
	return &name
}

func (c *contactMethodRes) FormattedValue() string {
	switch c.cm.Dest.Type {
	case notification.DestSMS, notification.DestVoice:
		return formatPhone(mainArg(c.cm.Dest))
	}
	return mainArg(c.cm.Dest)
}

func (c *contactMethodRes) StatusUpdates() string {
	if c.cm.StatusUpdates {
		return "ENABLED"
	}
	return "DISABLED"
}

// LastTestVerifyAt is when the last test or verification message was
// sent, from the owner's event stream.
func (c *contactMethodRes) LastTestVerifyAt(ctx context.Context) (*Timestamp, error) {
	envs, err := c.r.d.Log.Store.Load(ctx, c.r.d.Log.DB, user.Stream(c.cm.UserID), 1)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{events.ContactMethodTestSent{}.EventName(): true, events.ContactMethodVerificationSent{}.EventName(): true}
	var last time.Time
	for _, env := range envs {
		if !names[env.Name] {
			continue
		}
		var p struct {
			ContactMethodID string `json:"contact_method_id"`
		}
		if json.Unmarshal(env.Payload, &p) == nil && p.ContactMethodID == c.cm.ID && env.OccurredAt.After(last) {
			last = env.OccurredAt
		}
	}
	if last.IsZero() {
		return nil, nil
	}
	t := ts(last)
	return &t, nil
}

type ruleRes struct {
	rule paging.Rule
	r    *resolver
}

func (n *ruleRes) ID() graphql.ID              { return graphql.ID(n.rule.ID) }
func (n *ruleRes) DelayMinutes() int32         { return int32(n.rule.DelayMinutes) }
func (n *ruleRes) ContactMethodID() graphql.ID { return graphql.ID(n.rule.ContactMethodID) }

func (n *ruleRes) ContactMethod(ctx context.Context) (*contactMethodRes, error) {
	return n.r.UserContactMethod(ctx, struct{ ID graphql.ID }{graphql.ID(n.rule.ContactMethodID)})
}
