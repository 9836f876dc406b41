package events

// SigningKeyCreated: a key that signs session tokens. The private key is
// encrypted with the data encryption key before it is written.
type SigningKeyCreated struct {
	KeyID               string `json:"key_id"`
	EncryptedPrivateKey string `json:"encrypted_private_key"`
}

func (SigningKeyCreated) EventName() string { return "auth.signing_key_created" }

// SigningKeyResealed: a signing key was encrypted again, with the current
// data encryption key; this ciphertext replaces the earlier one.
type SigningKeyResealed struct {
	KeyID               string `json:"key_id"`
	EncryptedPrivateKey string `json:"encrypted_private_key"`
}

func (SigningKeyResealed) EventName() string { return "auth.signing_key_resealed" }

// SessionStarted: a user signed in.
type SessionStarted struct {
	SessionID string `json:"session_id"`
	UserID    string `json:"user_id"`
	Provider  string `json:"provider"` // basic, github, oidc
	UserAgent string `json:"user_agent,omitempty"`
	IP        string `json:"ip,omitempty"`
}

func (SessionStarted) EventName() string { return "auth.session_started" }

// SessionEnded: a user signed out (or the session was revoked).
type SessionEnded struct {
	SessionID string `json:"session_id"`
	UserID    string `json:"user_id"`
}

func (SessionEnded) EventName() string { return "auth.session_ended" }

// SignInFailed: someone tried to sign in and was refused.
type SignInFailed struct {
	Username string `json:"username"`
	Provider string `json:"provider"`
	Reason   string `json:"reason"`
	IP       string `json:"ip,omitempty"`
}

func (SignInFailed) EventName() string { return "auth.sign_in_failed" }
