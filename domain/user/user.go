// Package user is the user aggregate: a person who is paged and signs in.
package user

import (
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/events"
)

// Role is what a user may do.
type Role string

const (
	RoleAdmin Role = "admin"
	RoleUser  Role = "user"
)

// ParseRole returns the role named s.
func ParseRole(s string) (Role, error) {
	switch Role(s) {
	case RoleAdmin, RoleUser:
		return Role(s), nil
	}
	return "", domain.FieldErrorf("role", "unknown role %q (want admin or user)", s)
}

// Stream returns the stream id of the user with id.
func Stream(id string) string { return events.StreamID("user", id) }

// Errors.
var (
	ErrNotFound      = domain.NotFound("user_not_found", "user not found")
	ErrExists        = domain.Conflict("user_exists", "user already exists")
	ErrUsernameTaken = domain.Conflict("username_taken", "username is already in use")
	ErrHasBasicAuth  = domain.Conflict("basic_auth_exists", "user already has a username and password")
)

// User is the decision-making view of a user's history.
type User struct {
	id       string
	name     string
	email    string
	role     Role
	username string
	deleted  bool

	cms   []*ContactMethod
	rules []Rule
}

// FromHistory rebuilds a user from its events; nil if there are none.
func FromHistory(evs []events.Event) *User {
	return FromHistoryAt(evs, nil)
}

// FromHistoryAt is FromHistory for callers that know when each event
// occurred (at[i] for evs[i]), which verification and test message rules
// need.
func FromHistoryAt(evs []events.Event, at []time.Time) *User {
	var u *User
	for i, e := range evs {
		if u == nil {
			u = &User{}
		}
		var t time.Time
		if i < len(at) {
			t = at[i]
		}
		u.apply(e)
		u.applyContact(e, t)
	}
	return u
}

// Apply folds decided events into u, so that a later decision of the same
// command sees them.
func (u *User) Apply(evs ...events.Event) {
	for _, e := range evs {
		u.apply(e)
		u.applyContact(e, time.Time{})
	}
}

func (u *User) apply(e events.Event) {
	switch e := e.(type) {
	case events.UserCreated:
		u.id, u.name, u.email, u.role = e.UserID, e.Name, e.Email, Role(e.Role)
	case events.UserBasicAuthSet:
		u.username = e.Username
	case events.UserUpdated:
		u.name, u.email, u.role = e.Name, e.Email, Role(e.Role)
	case events.UserDeleted:
		u.deleted = true
	}
}

// Exists reports whether u is a live user.
func (u *User) Exists() bool { return u != nil && !u.deleted }

func (u *User) Email() string { return u.email }

// Update decides a change of name, email and role; nil when nothing
// changes.
func (u *User) Update(name, email string, role Role) ([]events.Event, error) {
	if !u.Exists() {
		return nil, ErrNotFound
	}
	// Create's checks are the checks of a valid user.
	if _, err := Create(u.id, name, email, role); err != nil {
		return nil, err
	}
	if name == u.name && email == u.email && role == u.role {
		return nil, nil
	}
	return []events.Event{events.UserUpdated{UserID: u.id, Name: name, Email: email, Role: string(role)}}, nil
}

// Delete decides deleting the user.
func (u *User) Delete() ([]events.Event, error) {
	if !u.Exists() {
		return nil, ErrNotFound
	}
	return []events.Event{events.UserDeleted{UserID: u.id}}, nil
}

func (u *User) ID() string       { return u.id }
func (u *User) Name() string     { return u.name }
func (u *User) Role() Role       { return u.role }
func (u *User) Username() string { return u.username }

// Create decides the creation of a user. The caller guarantees id is new.
func Create(id, name, email string, role Role) ([]events.Event, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if email != "" {
		if _, err := mail.ParseAddress(email); err != nil || strings.ContainsAny(email, "<> ") {
			return nil, domain.FieldErrorf("email", "%q is not an email address", email)
		}
	}
	if _, err := ParseRole(string(role)); err != nil {
		return nil, err
	}
	return []events.Event{events.UserCreated{UserID: id, Name: name, Email: email, Role: string(role)}}, nil
}

// SetBasicAuth decides giving u a username and password. passwordHash is
// the bcrypt hash of a password that ValidatePassword accepted.
func (u *User) SetBasicAuth(username, passwordHash string) ([]events.Event, error) {
	if !u.Exists() {
		return nil, ErrNotFound
	}
	if u.username != "" {
		return nil, ErrHasBasicAuth
	}
	if err := ValidateUsername(username); err != nil {
		return nil, err
	}
	return []events.Event{events.UserBasicAuthSet{UserID: u.id, Username: username, PasswordHash: passwordHash}}, nil
}

// ValidateName checks a display name: 1 to 255 printable characters.
func ValidateName(name string) error {
	if strings.TrimSpace(name) == "" {
		return domain.FieldError("name", "must not be empty")
	}
	if utf8.RuneCountInString(name) > 255 {
		return domain.FieldError("name", "must be at most 255 characters")
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return domain.FieldError("name", "must not contain control characters")
		}
	}
	return nil
}

// ValidateUsername checks a sign-in name: 1 to 64 characters with no
// white space or control characters.
func ValidateUsername(s string) error {
	if s == "" {
		return domain.FieldError("username", "must not be empty")
	}
	if utf8.RuneCountInString(s) > 64 {
		return domain.FieldError("username", "must be at most 64 characters")
	}
	for _, r := range s {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return domain.FieldError("username", "must not contain spaces or control characters")
		}
	}
	return nil
}

// ValidatePassword checks a new password: 8 to 72 bytes (bcrypt's limit).
func ValidatePassword(p string) error {
	switch {
	case len(p) == 0:
		return domain.FieldError("password", "must not be empty")
	case len(p) < 8:
		return domain.FieldError("password", "must be at least 8 characters")
	case len(p) > 72:
		return domain.FieldError("password", "must be at most 72 bytes")
	}
	return nil
}
