package graphqlapi

// Destinations: where messages go (contact methods) and whom escalation
// steps page (actions), in GoAlert's shape {type, args}, with the older
// shapes clients still send: field/value pairs, a contact method's
// type/value pair, and a step's targets.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/escalation"
	"github.com/oncallhq/goalert/domain/notification"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/projections/oncall"
	"github.com/oncallhq/goalert/projections/users"
)

// StringMap is the StringMap scalar: a JSON object whose values are strings.
type StringMap map[string]string

func (StringMap) ImplementsGraphQLType(name string) bool { return name == "StringMap" }

func (m *StringMap) UnmarshalGraphQL(input any) error {
	obj, ok := input.(map[string]any)
	if !ok {
		return fmt.Errorf("StringMap must be an object of strings, got %T", input)
	}
	out := make(StringMap, len(obj))
	for k, v := range obj {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("StringMap value %q must be a string, got %T", k, v)
		}
		out[k] = s
	}
	*m = out
	return nil
}

func (m StringMap) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(map[string]string(m))
}

// DestType is the DestinationType scalar.
type DestType string

func (DestType) ImplementsGraphQLType(name string) bool { return name == "DestinationType" }

func (t *DestType) UnmarshalGraphQL(input any) error {
	s, ok := input.(string)
	if !ok {
		return fmt.Errorf("DestinationType must be a string, got %T", input)
	}
	*t = DestType(s)
	return nil
}

func (t DestType) MarshalJSON() ([]byte, error) { return json.Marshal(string(t)) }

type fieldValueInput struct {
	FieldID graphql.ID
	Value   string
}

// destInput is DestinationInput: args, or the older values, or both (args
// win on the same field).
type destInput struct {
	Type   DestType
	Values *[]fieldValueInput
	Args   *StringMap
}

func (in destInput) dest() events.Dest {
	d := events.Dest{Type: string(in.Type), Args: map[string]string{}}
	if in.Values != nil {
		for _, v := range *in.Values {
			d.Args[string(v.FieldID)] = v.Value
		}
	}
	if in.Args != nil {
		for k, v := range *in.Args {
			d.Args[k] = v
		}
	}
	return d
}

// legacyType is one of the older contact method types: a destination type
// and its one argument.
type legacyType struct{ destType, arg string }

var contactMethodTypes = map[string]legacyType{
	"SMS":      {notification.DestSMS, notification.ArgPhoneNumber},
	"VOICE":    {notification.DestVoice, notification.ArgPhoneNumber},
	"EMAIL":    {notification.DestEmail, notification.ArgEmailAddress},
	"WEBHOOK":  {notification.DestWebhook, notification.ArgWebhookURL},
	"SLACK_DM": {notification.DestSlackDM, notification.ArgSlackUserID},
}

// legacyTypeOf returns the older type name of a destination type, or "".
func legacyTypeOf(destType string) (string, legacyType) {
	for name, lt := range contactMethodTypes {
		if lt.destType == destType {
			return name, lt
		}
	}
	return "", legacyType{}
}

// Step targets in the older shape: TargetType names for each action type
// and its argument. A webhook target's id is its URL.
var targetTypes = map[string]legacyType{
	"user":         {escalation.ActionUser, "user_id"},
	"schedule":     {escalation.ActionSchedule, "schedule_id"},
	"rotation":     {escalation.ActionRotation, "rotation_id"},
	"chanWebhook":  {notification.DestWebhook, notification.ArgWebhookURL},
	"slackChannel": {notification.DestSlackChannel, notification.ArgSlackChannelID},
}

// stepActions combines a step's actions and older targets into actions.
// It returns nil when neither is given.
func stepActions(actions *[]destInput, targets *[]targetInput) ([]events.Dest, error) {
	if actions == nil && targets == nil {
		return nil, nil
	}
	out := []events.Dest{}
	if actions != nil {
		for _, a := range *actions {
			out = append(out, a.dest())
		}
	}
	if targets != nil {
		for _, t := range *targets {
			lt, ok := targetTypes[t.Type]
			if !ok {
				return nil, domain.FieldErrorf("targets", "a %s cannot be an escalation step target", t.Type)
			}
			out = append(out, events.Dest{Type: lt.destType, Args: map[string]string{lt.arg: string(t.ID)}})
		}
	}
	return out, nil
}

// destRes is a Destination.
type destRes struct {
	d events.Dest
	r *resolver
}

func (d destRes) Type() DestType  { return DestType(d.d.Type) }
func (d destRes) Args() StringMap { return StringMap(d.d.Args) }

type fieldValue struct{ id, value string }

func (f fieldValue) FieldID() graphql.ID { return graphql.ID(f.id) }
func (f fieldValue) Value() string       { return f.value }

func (d destRes) Values() []fieldValue {
	out := make([]fieldValue, 0, len(d.d.Args))
	for k, v := range d.d.Args {
		out = append(out, fieldValue{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

type displayInfo struct{ text, iconURL, iconAlt, link string }

func (i displayInfo) Text() string        { return i.text }
func (i displayInfo) IconURL() string     { return i.iconURL }
func (i displayInfo) IconAltText() string { return i.iconAlt }
func (i displayInfo) LinkURL() string     { return i.link }

// Destination type names, as people read them.
var destTypeNames = map[string]string{
	notification.DestSMS: "SMS", notification.DestVoice: "Voice", notification.DestEmail: "Email",
	notification.DestWebhook: "Webhook", notification.DestSlackDM: "Slack DM", notification.DestSlackChannel: "Slack Channel",
	escalation.ActionUser: "User", escalation.ActionSchedule: "Schedule", escalation.ActionRotation: "Rotation",
}

func (d destRes) DisplayInfo(ctx context.Context) (displayInfo, error) {
	text, err := d.r.destText(ctx, d.d)
	if err != nil {
		return displayInfo{}, err
	}
	info := displayInfo{text: text, iconAlt: destTypeNames[d.d.Type]}
	base := d.r.d.PublicURL
	switch d.d.Type {
	case escalation.ActionUser:
		info.link = base + "/users/" + url.PathEscape(d.d.Args["user_id"])
	case escalation.ActionSchedule:
		info.link = base + "/schedules/" + url.PathEscape(d.d.Args["schedule_id"])
	case escalation.ActionRotation:
		info.link = base + "/rotations/" + url.PathEscape(d.d.Args["rotation_id"])
	}
	return info, nil
}

// destText is how a destination reads: a formatted phone number, an email
// address, a webhook's host, a user's, schedule's or rotation's name. Slack
// ids read as their ids.
func (r *resolver) destText(ctx context.Context, d events.Dest) (string, error) {
	switch d.Type {
	case notification.DestSMS, notification.DestVoice:
		return formatPhone(d.Args[notification.ArgPhoneNumber]), nil
	case notification.DestWebhook:
		u, err := url.Parse(d.Args[notification.ArgWebhookURL])
		if err != nil || u.Host == "" {
			return d.Args[notification.ArgWebhookURL], nil
		}
		return u.Host, nil
	case escalation.ActionUser:
		return r.userName(ctx, d.Args["user_id"])
	case escalation.ActionSchedule:
		return r.scheduleName(ctx, d.Args["schedule_id"])
	case escalation.ActionRotation:
		return r.rotationName(ctx, d.Args["rotation_id"])
	}
	return mainArg(d), nil
}

// scheduleName is a schedule's name, or its id when the schedule is gone.
func (r *resolver) scheduleName(ctx context.Context, id string) (string, error) {
	s, err := r.d.OnCall.Schedule(ctx, id)
	if errors.Is(err, oncall.ErrNotFound) {
		return id, nil
	}
	if err != nil {
		return "", err
	}
	return s.Name, nil
}

// rotationName is a rotation's name, or its id when the rotation is gone.
func (r *resolver) rotationName(ctx context.Context, id string) (string, error) {
	rot, err := r.d.OnCall.Rotation(ctx, id)
	if errors.Is(err, oncall.ErrNotFound) {
		return id, nil
	}
	if err != nil {
		return "", err
	}
	return rot.Name, nil
}

// userName is a user's name, or their id when the user is gone.
func (r *resolver) userName(ctx context.Context, id string) (string, error) {
	u, err := r.d.Users.ByID(ctx, id)
	if errors.Is(err, users.ErrNotFound) {
		return id, nil
	}
	if err != nil {
		return "", err
	}
	return u.Name, nil
}

// mainArg is the value of a destination's one argument (all types here
// have one).
func mainArg(d events.Dest) string {
	if _, lt := legacyTypeOf(d.Type); lt.arg != "" {
		return d.Args[lt.arg]
	}
	for _, lt := range targetTypes {
		if lt.destType == d.Type {
			return d.Args[lt.arg]
		}
	}
	keys := make([]string, 0, len(d.Args))
	for k := range d.Args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = d.Args[k]
	}
	return strings.Join(vals, ", ")
}

// formatPhone writes North American numbers as +1 763-555-0100; others
// stay in E.164 form.
func formatPhone(p string) string {
	if len(p) == 12 && strings.HasPrefix(p, "+1") {
		return "+1 " + p[2:5] + "-" + p[5:8] + "-" + p[8:]
	}
	return p
}

// targetRes is a Target.
type targetRes struct {
	id, typ string
	d       events.Dest
	r       *resolver
}

func (t targetRes) ID() graphql.ID { return graphql.ID(t.id) }
func (t targetRes) Type() string   { return t.typ }

func (t targetRes) Name(ctx context.Context) (string, error) { return t.r.destText(ctx, t.d) }

// targetOf is an action in the older target shape; false for an action
// type that has none.
func (r *resolver) targetOf(d events.Dest) (targetRes, bool) {
	for name, lt := range targetTypes {
		if lt.destType == d.Type {
			return targetRes{id: d.Args[lt.arg], typ: name, d: d, r: r}, true
		}
	}
	return targetRes{}, false
}
