// Package session issues and verifies signed session tokens.
//
// A session token is a JWT signed with Ed25519 ("EdDSA"). Its claims are
//
//	iss  the Signer's issuer
//	aud  [Audience]
//	sub  user id
//	jti  session id
//	iat  issue time
//	exp  issue time + ttl
//
// and its header carries "kid": the first 8 bytes, hex encoded, of SHA-256
// of the signing public key. Verify selects the public key by kid, so
// several keys can be accepted while signing keys are rotated.
//
// Verification accepts only alg EdDSA (tokens with "none", HS256 and any
// other algorithm are rejected before a key is looked up), requires exp,
// iat, sub and jti, checks iss and aud, and reads time from the clock
// function given to NewSigner. [Leeway] absorbs clock differences between
// instances.
//
// Verifying a signature proves only that this deployment issued the token;
// callers that support logout must still check that the session id is live.
package session

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Audience is the aud claim of every session token. It keeps tokens that the
// same issuer signs for other purposes from being accepted as sessions.
const Audience = "goalert-session"

// Leeway is the clock skew tolerated when checking exp and iat: a token is
// accepted until Leeway after its exp, and an iat up to Leeway in the future
// is accepted (an instance whose clock is slightly behind the issuing one
// must not reject a fresh token).
const Leeway = 30 * time.Second

// maxTokenLen bounds the input to Verify; real tokens are a few hundred
// bytes.
const maxTokenLen = 4096

var (
	// ErrInvalid is returned by Verify for any token that is not a valid,
	// unexpired session token of this Signer. The returned error wraps it
	// together with the jwt library's reason, which is for logs only: show
	// clients ErrInvalid.Error(), "invalid session token".
	ErrInvalid = errors.New("invalid session token")

	// ErrExpired is returned by Verify for a token whose signature and
	// claims are valid except that exp (plus Leeway) has passed. Callers
	// may use it to ask the user to sign in again; it must be rejected like
	// ErrInvalid.
	ErrExpired = errors.New("session token expired")
)

// Claims are the claims of a session token.
//
// SessionID and UserID are not serialized themselves: they travel as jti
// (RegisteredClaims.ID) and sub (RegisteredClaims.Subject), and Verify fills
// them in from those.
type Claims struct {
	SessionID string `json:"-"`
	UserID    string `json:"-"`
	jwt.RegisteredClaims
}

// Validate implements jwt.ClaimsValidator: iat, sub (user id) and jti
// (session id) are required (jwt.WithIssuedAt checks iat only when it is
// present). It reports jwt.ErrTokenRequiredClaimMissing otherwise.
func (c Claims) Validate() error {
	var errs []error
	if c.IssuedAt == nil {
		errs = append(errs, fmt.Errorf("%w: iat", jwt.ErrTokenRequiredClaimMissing))
	}
	if c.Subject == "" {
		errs = append(errs, fmt.Errorf("%w: sub", jwt.ErrTokenRequiredClaimMissing))
	}
	if c.ID == "" {
		errs = append(errs, fmt.Errorf("%w: jti", jwt.ErrTokenRequiredClaimMissing))
	}
	return errors.Join(errs...)
}

// Signer issues and verifies session tokens. It is immutable after
// NewSigner and safe for concurrent use.
type Signer struct {
	issuer  string
	now     func() time.Time
	signKey ed25519.PrivateKey
	signKID string
	verify  map[string]ed25519.PublicKey
}

// NewSigner returns a Signer that signs with keys[0] and verifies tokens
// signed by any of keys, so a new key can be put first while tokens of the
// previous ones stay valid until they expire. now is the clock used for iat,
// exp and all time checks; nil means time.Now.
//
// It returns an error if issuer is empty, no key is given, a key is not a
// well-formed ed25519 private key, or two different keys share a kid.
// Repeated identical keys are accepted.
func NewSigner(issuer string, now func() time.Time, keys ...ed25519.PrivateKey) (*Signer, error) {
	if issuer == "" {
		return nil, errors.New("session: issuer is required")
	}
	if len(keys) == 0 {
		return nil, errors.New("session: at least one signing key is required")
	}
	if now == nil {
		now = time.Now
	}
	s := &Signer{
		issuer: issuer,
		now:    now,
		verify: make(map[string]ed25519.PublicKey, len(keys)),
	}
	for i, k := range keys {
		if len(k) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("session: key %d: want %d bytes, got %d", i, ed25519.PrivateKeySize, len(k))
		}
		// The public half of an ed25519.PrivateKey is stored next to the
		// seed; a mismatched one would sign tokens nobody can verify.
		canonical := ed25519.NewKeyFromSeed(k.Seed())
		if !canonical.Equal(k) {
			return nil, fmt.Errorf("session: key %d: public half does not match the seed", i)
		}
		pub := canonical.Public().(ed25519.PublicKey)
		kid := KeyID(pub)
		if prev, ok := s.verify[kid]; ok {
			if !prev.Equal(pub) {
				return nil, fmt.Errorf("session: key %d: kid %s collides with another key", i, kid)
			}
			continue
		}
		s.verify[kid] = pub
		if i == 0 {
			s.signKey, s.signKID = canonical, kid
		}
	}
	return s, nil
}

// KeyID returns the kid of pub: the first 8 bytes of SHA-256 of the public
// key, hex encoded (16 characters).
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// SigningKeyID returns the kid that Issue puts in new tokens.
func (s *Signer) SigningKeyID() string { return s.signKID }

// Issue returns a token for sessionID and userID valid for ttl from the
// Signer's clock. It returns an error if either id is empty, ttl is not
// positive, or signing fails.
func (s *Signer) Issue(sessionID, userID string, ttl time.Duration) (string, error) {
	if sessionID == "" || userID == "" {
		return "", errors.New("session: session id and user id are required")
	}
	if ttl <= 0 {
		return "", fmt.Errorf("session: ttl must be positive, got %v", ttl)
	}
	now := s.now()
	claims := Claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    s.issuer,
		Subject:   userID,
		Audience:  jwt.ClaimStrings{Audience},
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		IssuedAt:  jwt.NewNumericDate(now),
		ID:        sessionID,
	}}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = s.signKID
	signed, err := t.SignedString(s.signKey)
	if err != nil {
		return "", fmt.Errorf("session: sign token: %w", err)
	}
	return signed, nil
}

// parserOptions returns the verification rules with clock as the time
// source.
func (s *Signer) parserOptions(clock func() time.Time) []jwt.ParserOption {
	return []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(s.issuer),
		jwt.WithAudience(Audience),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(clock),
		jwt.WithStrictDecoding(),
	}
}

// keyFunc returns the public key named by the token's kid header.
func (s *Signer) keyFunc(t *jwt.Token) (any, error) {
	if t.Method != jwt.SigningMethodEdDSA {
		return nil, fmt.Errorf("unexpected signing method %v", t.Header["alg"])
	}
	kid, ok := t.Header["kid"].(string)
	if !ok || kid == "" {
		return nil, errors.New("missing kid header")
	}
	pub, ok := s.verify[kid]
	if !ok {
		return nil, fmt.Errorf("unknown kid %q", kid)
	}
	return pub, nil
}

// Verify checks token and returns its claims with SessionID and UserID set.
//
// It returns ErrExpired if the token is authentic and valid apart from
// being past exp (plus Leeway), and ErrInvalid for every other failure:
// malformed token, algorithm other than EdDSA, unknown kid, bad signature,
// missing exp, iat, sub or jti, iat in the future, wrong iss or aud. Both
// errors wrap the jwt library's reason.
func (s *Signer) Verify(token string) (Claims, error) {
	if len(token) > maxTokenLen {
		return Claims{}, fmt.Errorf("%w: token longer than %d bytes", ErrInvalid, maxTokenLen)
	}
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, s.keyFunc, s.parserOptions(s.now)...)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) && s.onlyExpired(&c) {
			return Claims{}, fmt.Errorf("%w: %w", ErrExpired, err)
		}
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	c.SessionID, c.UserID = c.ID, c.Subject
	return c, nil
}

// onlyExpired reports whether c, whose signature the parser has already
// verified (claims are checked only after the signature), would pass every
// claim check at the instant before it expired. That tells "expired" apart
// from "expired and also wrong in some other way", which must stay
// ErrInvalid.
func (s *Signer) onlyExpired(c *Claims) bool {
	if c.ExpiresAt == nil {
		return false
	}
	justBefore := c.ExpiresAt.Add(-time.Nanosecond)
	v := jwt.NewValidator(s.parserOptions(func() time.Time { return justBefore })...)
	return v.Validate(c) == nil
}

// GenerateKey returns a new random Ed25519 private key for NewSigner. It
// returns an error only if the system random source fails.
func GenerateKey() (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("session: generate ed25519 key: %w", err)
	}
	return priv, nil
}
