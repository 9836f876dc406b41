package user

import "context"

// Principal is who a request acts for: a signed-in user, or a machine
// acting with a role (an API key).
type Principal struct {
	UserID string
	Name   string
	Role   Role
	// Source is the channel: "web" for a browser session, "api" for an API
	// key or bearer token.
	Source string
}

// IsAdmin reports whether p may do admin-only things.
func (p Principal) IsAdmin() bool { return p.Role == RoleAdmin }

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal ctx carries, and whether there is one.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
