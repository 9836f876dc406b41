package graphqlapi

import (
	"context"
	"encoding/base64"
	"sort"
	"strconv"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/oncallhq/goalert/projections/alerts"
	"github.com/oncallhq/goalert/projections/services"
	"github.com/oncallhq/goalert/projections/users"
)

type pageInfo struct {
	cursor *string
	more   bool
}

func (p pageInfo) EndCursor() *string { return p.cursor }
func (p pageInfo) HasNextPage() bool  { return p.more }
func encodeCursor(s string) *string   { c := base64.RawURLEncoding.EncodeToString([]byte(s)); return &c }
func decodeCursor(c string) string    { b, _ := base64.RawURLEncoding.DecodeString(c); return string(b) }
func pageSize(first int32) int {
	if first <= 0 {
		return 15
	}
	return min(int(first), maxPageSize)
}

// Alert statuses as GraphQL names them.
var statusName = map[string]string{"triggered": "StatusUnacknowledged", "active": "StatusAcknowledged", "closed": "StatusClosed"}
var statusOf = map[string]string{"StatusUnacknowledged": "triggered", "StatusAcknowledged": "active", "StatusClosed": "closed"}

type alertRes struct {
	a alerts.Alert
	r *resolver
}

func (a *alertRes) ID() graphql.ID        { return graphql.ID(strconv.FormatInt(a.a.ID, 10)) }
func (a *alertRes) AlertID() int32        { return int32(a.a.ID) }
func (a *alertRes) Status() string        { return statusName[a.a.Status] }
func (a *alertRes) Summary() string       { return a.a.Summary }
func (a *alertRes) Details() string       { return a.a.Details }
func (a *alertRes) CreatedAt() Timestamp  { return ts(a.a.CreatedAt) }
func (a *alertRes) ServiceID() graphql.ID { return graphql.ID(a.a.ServiceID) }

func (a *alertRes) Service(ctx context.Context) (*serviceRes, error) {
	return a.r.serviceByID(ctx, a.a.ServiceID)
}

type metaRes struct{ key, value string }

func (m metaRes) Key() string   { return m.key }
func (m metaRes) Value() string { return m.value }

func (a *alertRes) Meta() *[]metaRes {
	out := make([]metaRes, 0, len(a.a.Meta))
	for k, v := range a.a.Meta {
		out = append(out, metaRes{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return &out
}

func (a *alertRes) MetaValue(args struct{ Key string }) string { return a.a.Meta[args.Key] }

// alertState is where the alert is in its escalation policy.
type alertState struct{ s alerts.EscalationState }

func (s alertState) LastEscalation() Timestamp { return ts(s.s.LastEscalation) }
func (s alertState) StepNumber() int32         { return int32(s.s.StepNumber) }
func (s alertState) RepeatCount() int32        { return int32(s.s.RepeatCount) }

// State is null until the engine has escalated the alert once.
func (a *alertRes) State() *alertState {
	if a.a.Escalation == nil {
		return nil
	}
	return &alertState{*a.a.Escalation}
}

type logEntry struct{ e alerts.LogEntry }

func (l logEntry) ID() int32            { return int32(l.e.ID) }
func (l logEntry) Timestamp() Timestamp { return ts(l.e.At) }
func (l logEntry) Message() string      { return l.e.Message }

type logConn struct {
	nodes []logEntry
	page  pageInfo
}

func (c *logConn) Nodes() []logEntry  { return c.nodes }
func (c *logConn) PageInfo() pageInfo { return c.page }

type recentEventsArgs struct {
	Input *struct {
		Limit *int32
		After string
	}
}

// RecentEvents returns the alert's log, newest first, as GoAlert does.
func (a *alertRes) RecentEvents(ctx context.Context, args recentEventsArgs) (*logConn, error) {
	entries, err := a.r.d.Alerts.Log(ctx, a.a.ID)
	if err != nil {
		return nil, err
	}
	limit, skip := 15, 0
	if args.Input != nil {
		if args.Input.Limit != nil {
			limit = pageSize(*args.Input.Limit)
		}
		if args.Input.After != "" {
			skip, _ = strconv.Atoi(decodeCursor(args.Input.After))
		}
	}
	c := &logConn{}
	for i := len(entries) - 1 - skip; i >= 0 && len(c.nodes) < limit; i-- {
		c.nodes = append(c.nodes, logEntry{entries[i]})
	}
	if end := skip + len(c.nodes); end < len(entries) {
		c.page = pageInfo{cursor: encodeCursor(strconv.Itoa(end)), more: true}
	}
	return c, nil
}

type alertConn struct {
	nodes []*alertRes
	page  pageInfo
}

func (c *alertConn) Nodes() []*alertRes { return c.nodes }
func (c *alertConn) PageInfo() pageInfo { return c.page }

type serviceRes struct {
	s services.Service
	r *resolver
}

func (s *serviceRes) ID() graphql.ID                 { return graphql.ID(s.s.ID) }
func (s *serviceRes) Name() string                   { return s.s.Name }
func (s *serviceRes) Description() string            { return s.s.Description }
func (s *serviceRes) EscalationPolicyID() graphql.ID { return graphql.ID(s.s.EscalationPolicyID) }
func (s *serviceRes) IsFavorite() bool               { return false }

func (s *serviceRes) MaintenanceExpiresAt() *Timestamp {
	if s.s.MaintenanceExpiresAt == nil || !s.s.MaintenanceExpiresAt.After(s.r.d.Commands.Clock().Now()) {
		return nil
	}
	t := ts(*s.s.MaintenanceExpiresAt)
	return &t
}

func (s *serviceRes) IntegrationKeys(ctx context.Context) ([]*keyRes, error) {
	keys, err := s.r.d.Services.Keys(ctx, s.s.ID)
	if err != nil {
		return nil, err
	}
	out := make([]*keyRes, len(keys))
	for i, k := range keys {
		out[i] = &keyRes{k, s.r}
	}
	return out, nil
}

type labelRes struct{ l services.Label }

func (l labelRes) Key() string   { return l.l.Key }
func (l labelRes) Value() string { return l.l.Value }

func (s *serviceRes) Labels(ctx context.Context) ([]labelRes, error) {
	ls, err := s.r.d.Services.Labels(ctx, s.s.ID)
	if err != nil {
		return nil, err
	}
	out := make([]labelRes, len(ls))
	for i, l := range ls {
		out[i] = labelRes{l}
	}
	return out, nil
}

type serviceConn struct {
	nodes []*serviceRes
	page  pageInfo
}

func (c *serviceConn) Nodes() []*serviceRes { return c.nodes }
func (c *serviceConn) PageInfo() pageInfo   { return c.page }

type keyRes struct {
	k services.Key
	r *resolver
}

func (k *keyRes) ID() graphql.ID        { return graphql.ID(k.k.ID) }
func (k *keyRes) ServiceID() graphql.ID { return graphql.ID(k.k.ServiceID) }
func (k *keyRes) Type() string          { return k.k.Type }
func (k *keyRes) Name() string          { return k.k.Name }

func (k *keyRes) ExternalSystemName() *string {
	if k.k.ExternalSystemName == "" {
		return nil
	}
	return &k.k.ExternalSystemName
}

// Href is where the key is used: the endpoint URL with the token, or the
// email address for email keys.
func (k *keyRes) Href() string {
	base := k.r.d.PublicURL
	switch k.k.Type {
	case "generic":
		return base + "/api/v2/generic/incoming?token=" + k.k.ID
	case "grafana":
		return base + "/api/v2/grafana/incoming?token=" + k.k.ID
	case "site24x7":
		return base + "/api/v2/site24x7/incoming?token=" + k.k.ID
	case "prometheusAlertmanager":
		return base + "/api/v2/prometheusalertmanager/incoming?token=" + k.k.ID
	case "pagerduty":
		return base + "/v2/enqueue"
	case "email":
		// The built-in SMTP server's domain, else the Mailgun route's.
		d := k.r.d.EmailDomain
		if d == "" && k.r.d.Config != nil {
			d = k.r.d.Config.Current().String("Mailgun.EmailDomain")
		}
		if d != "" {
			return "mailto:" + k.k.ID + "@" + d
		}
		return "mailto:" + k.k.ID
	}
	return ""
}

type userRes struct {
	u users.User
	r *resolver
}

func (u *userRes) ID() graphql.ID { return graphql.ID(u.u.ID) }
func (u *userRes) Role() string   { return u.u.Role }
func (u *userRes) Name() string   { return u.u.Name }
func (u *userRes) Email() string  { return u.u.Email }

type userConn struct {
	nodes []*userRes
	page  pageInfo
}

func (c *userConn) Nodes() []*userRes  { return c.nodes }
func (c *userConn) PageInfo() pageInfo { return c.page }

type configValue struct {
	id, desc, value, typ string
	password             bool
}

func (c configValue) ID() string          { return c.id }
func (c configValue) Description() string { return c.desc }
func (c configValue) Value() string       { return c.value }
func (c configValue) Type() string        { return c.typ }
func (c configValue) Password() bool      { return c.password }

type systemLimit struct {
	id, desc string
	value    int
}

func (l systemLimit) ID() string          { return l.id }
func (l systemLimit) Description() string { return l.desc }
func (l systemLimit) Value() int32        { return int32(l.value) }
