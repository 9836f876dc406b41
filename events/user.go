package events

// UserCreated: a person who can be paged and can sign in.
type UserCreated struct {
	UserID string `json:"user_id"`
	Name   string `json:"name"`
	Email  string `json:"email,omitempty"`
	Role   string `json:"role"`
}

func (UserCreated) EventName() string { return "user.created" }

// UserBasicAuthSet: the user's username and password for basic sign-in were
// set. The password is stored only as a bcrypt hash.
type UserBasicAuthSet struct {
	UserID       string `json:"user_id"`
	Username     string `json:"username"`
	PasswordHash string `json:"password_hash"`
}

func (UserBasicAuthSet) EventName() string { return "user.basic_auth_set" }

// UserUpdated: the user's profile or role changed; the event carries the
// new values of all three.
type UserUpdated struct {
	UserID string `json:"user_id"`
	Name   string `json:"name"`
	Email  string `json:"email,omitempty"`
	Role   string `json:"role"`
}

func (UserUpdated) EventName() string { return "user.updated" }

// UserDeleted: the user is gone; their username is free again.
type UserDeleted struct {
	UserID string `json:"user_id"`
}

func (UserDeleted) EventName() string { return "user.deleted" }
