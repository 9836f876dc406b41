// Package graphqlapi serves the GraphQL API at /api/graphql with
// graph-gophers/graphql-go, schema first (schema.graphql), with GoAlert's
// names for everything it shares with GoAlert.
package graphqlapi

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	graphql "github.com/graph-gophers/graphql-go"
	gqlerrors "github.com/graph-gophers/graphql-go/errors"

	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/projections/alerts"
	"github.com/oncallhq/goalert/projections/oncall"
	"github.com/oncallhq/goalert/projections/paging"
	"github.com/oncallhq/goalert/projections/services"
	"github.com/oncallhq/goalert/projections/users"
)

//go:embed schema.graphql
var schemaSDL string

// Limits on what one request may ask for.
const (
	maxDepth       = 15 // the standard introspection query nests 14 deep
	maxQueryLength = 32 << 10
	maxSelections  = 2000
	maxPageSize    = 100
)

// Deps is what the API reads and writes through.
type Deps struct {
	Commands *commands.Handler
	// WaitFor blocks until the read models have passed a command's
	// checkpoint, so a mutation's result shows its own writes.
	WaitFor  func(ctx context.Context, cp events.Checkpoint) error
	Users    users.Reader
	Services services.Reader
	Alerts   alerts.Reader
	// Paging is read for contact methods, notification rules,
	// escalation policies and heartbeat monitors.
	Paging paging.Reader
	// OnCall is read for rotations, schedules, overrides, calendar
	// subscriptions and who is on call.
	OnCall    oncall.Reader
	PublicURL string
	Logger    *slog.Logger
	// EmailDomain is the domain of email integration keys' addresses
	// (--email-integration-domain); empty leaves the address without one.
	EmailDomain string
	// Log is read by the audit queries (events, alertHistory).
	Log EventLog
	// Config is the admin config (the config query, setConfig).
	Config ConfigStore
}

// Handler serves GraphQL requests of signed-in principals.
type Handler struct {
	schema *graphql.Schema
	log    *slog.Logger
}

// New parses the schema against the resolvers; a mismatch is an error.
func New(d Deps) (*Handler, error) {
	s, err := graphql.ParseSchema(schemaSDL, &resolver{d},
		graphql.MaxDepth(maxDepth), graphql.MaxQueryLength(maxQueryLength), graphql.MaxSelections(maxSelections),
		graphql.UseStringDescriptions(), graphql.PanicHandler(panicHandler{d.Logger}))
	if err != nil {
		return nil, fmt.Errorf("parse GraphQL schema: %w", err)
	}
	return &Handler{schema: s, log: d.Logger}, nil
}

type request struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
}

// ServeHTTP runs one query. The caller's principal must be in the
// request's context (the auth middleware puts it there); without one the
// answer is 401.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, ok := user.PrincipalFrom(r.Context())
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"errors": []map[string]any{
			{"message": "sign in first", "extensions": map[string]any{"code": "UNAUTHENTICATED"}}}})
		return
	}
	var req request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		status := http.StatusBadRequest
		if errors.As(err, &mbe) {
			status = http.StatusRequestEntityTooLarge
		}
		writeJSON(w, status, map[string]any{"errors": []map[string]any{
			{"message": "request body is not a GraphQL JSON request: " + err.Error(), "extensions": map[string]any{"code": "BAD_REQUEST"}}}})
		return
	}
	ctx := events.WithMetadata(r.Context(), events.Metadata{Actor: "user:" + p.UserID, ActorName: p.Name, Source: p.Source})
	resp := h.schema.Exec(ctx, req.Query, req.OperationName, req.Variables)
	for _, e := range resp.Errors {
		h.translate(e)
	}
	writeJSON(w, http.StatusOK, resp)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// codeOf is the one translation of error kinds to GraphQL error codes.
var codeOf = map[domain.Kind]string{
	domain.KindInvalid:      "INVALID_INPUT_VALUE",
	domain.KindNotFound:     "NOT_FOUND",
	domain.KindConflict:     "CONFLICT",
	domain.KindForbidden:    "FORBIDDEN",
	domain.KindUnauthorized: "UNAUTHENTICATED",
	domain.KindLimit:        "LIMIT_EXCEEDED",
	domain.KindUnavailable:  "UNAVAILABLE",
	domain.KindInternal:     "INTERNAL",
}

// translate gives a resolver error its code and, for internal errors,
// replaces the message: SQL text and stack details go to the log only.
func (h *Handler) translate(qe *gqlerrors.QueryError) {
	if qe.ResolverError == nil {
		if qe.Extensions == nil {
			qe.Extensions = map[string]any{"code": "GRAPHQL_VALIDATION_FAILED"}
		}
		return
	}
	err := qe.ResolverError
	kind := domain.KindOf(err)
	ext := map[string]any{"code": codeOf[kind]}
	var de *domain.Error
	if kind == domain.KindInternal || !errors.As(err, &de) {
		h.log.Error("GraphQL resolver failed", "path", qe.Path, "err", err)
		qe.Message = "internal error"
		ext["code"] = codeOf[domain.KindInternal]
	} else {
		qe.Message = de.Error()
		ext["reason"] = de.Code
		if de.Field != "" {
			ext["field"] = de.Field
		}
	}
	qe.Extensions = ext
}

type panicHandler struct{ log *slog.Logger }

func (p panicHandler) MakePanicError(ctx context.Context, value any) *gqlerrors.QueryError {
	p.log.Error("GraphQL resolver panicked", "panic", value)
	return &gqlerrors.QueryError{Message: "internal error", Extensions: map[string]any{"code": "INTERNAL"}}
}

// Timestamp is the ISOTimestamp scalar.
type Timestamp struct{ time.Time }

func (Timestamp) ImplementsGraphQLType(name string) bool { return name == "ISOTimestamp" }

func (t *Timestamp) UnmarshalGraphQL(input any) error {
	s, ok := input.(string)
	if !ok {
		return fmt.Errorf("ISOTimestamp must be an RFC 3339 string, got %T", input)
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("ISOTimestamp %q is not RFC 3339", s)
	}
	t.Time = v
	return nil
}

func (t Timestamp) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.Time.UTC().Format(time.RFC3339Nano))
}

func ts(t time.Time) Timestamp { return Timestamp{t} }
