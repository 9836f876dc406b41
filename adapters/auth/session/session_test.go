package session

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const testIssuer = "https://goalert.example.com"

// clock is a settable time source for the Signer.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func mustKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustSigner(t *testing.T, issuer string, clk *clock, keys ...ed25519.PrivateKey) *Signer {
	t.Helper()
	s, err := NewSigner(issuer, clk.Now, keys...)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return s
}

func mustIssue(t *testing.T, s *Signer, ttl time.Duration) string {
	t.Helper()
	tok, err := s.Issue("sess-1", "user-1", ttl)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return tok
}

// validClaims are claims that Verify would accept at clk's time, for
// building hostile tokens by hand.
func validClaims(clk *clock) jwt.RegisteredClaims {
	now := clk.Now()
	return jwt.RegisteredClaims{
		Issuer:    testIssuer,
		Subject:   "user-1",
		Audience:  jwt.ClaimStrings{Audience},
		ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
		IssuedAt:  jwt.NewNumericDate(now),
		ID:        "sess-1",
	}
}

// signWith signs claims with key under alg, setting kid.
func signWith(t *testing.T, m jwt.SigningMethod, claims jwt.Claims, kid string, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", m.Alg(), err)
	}
	return s
}

func wantInvalid(t *testing.T, s *Signer, token string) {
	t.Helper()
	c, err := s.Verify(token)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Verify: err = %v, want ErrInvalid", err)
	}
	if errors.Is(err, ErrExpired) {
		t.Fatalf("Verify: err = %v is both ErrInvalid and ErrExpired", err)
	}
	if !reflect.DeepEqual(c, Claims{}) {
		t.Fatalf("Verify returned claims %+v with an error", c)
	}
}

func header(t *testing.T, token string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestValidToken(t *testing.T) {
	clk := newClock()
	key := mustKey(t)
	s := mustSigner(t, testIssuer, clk, key)
	tok := mustIssue(t, s, time.Hour)

	c, err := s.Verify(tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.SessionID != "sess-1" || c.UserID != "user-1" {
		t.Errorf("SessionID, UserID = %q, %q", c.SessionID, c.UserID)
	}
	if c.ID != "sess-1" || c.Subject != "user-1" || c.Issuer != testIssuer {
		t.Errorf("registered claims = %+v", c.RegisteredClaims)
	}
	if len(c.Audience) != 1 || c.Audience[0] != Audience {
		t.Errorf("aud = %v", c.Audience)
	}
	if !c.IssuedAt.Equal(clk.Now()) || !c.ExpiresAt.Equal(clk.Now().Add(time.Hour)) {
		t.Errorf("iat, exp = %v, %v", c.IssuedAt, c.ExpiresAt)
	}

	h := header(t, tok)
	if h["alg"] != "EdDSA" {
		t.Errorf("alg = %v", h["alg"])
	}
	wantKID := KeyID(key.Public().(ed25519.PublicKey))
	if h["kid"] != wantKID || len(wantKID) != 16 || s.SigningKeyID() != wantKID {
		t.Errorf("kid = %v, want %s (16 hex chars)", h["kid"], wantKID)
	}

	// The payload carries the ids only as sub and jti.
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var payload map[string]any
	if err := json.Unmarshal(raw, &payload); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"SessionID", "UserID"} {
		if _, ok := payload[k]; ok {
			t.Errorf("payload has field %s: %s", k, raw)
		}
	}
}

func TestExpired(t *testing.T) {
	clk := newClock()
	s := mustSigner(t, testIssuer, clk, mustKey(t))
	tok := mustIssue(t, s, time.Hour)

	// Within Leeway after exp the token still verifies.
	clk.Advance(time.Hour + Leeway - time.Second)
	if _, err := s.Verify(tok); err != nil {
		t.Fatalf("Verify within leeway: %v", err)
	}

	clk.Advance(time.Second)
	c, err := s.Verify(tok)
	if !errors.Is(err, ErrExpired) {
		t.Fatalf("Verify after exp: err = %v, want ErrExpired", err)
	}
	if errors.Is(err, ErrInvalid) {
		t.Errorf("expired token error also matches ErrInvalid: %v", err)
	}
	if !errors.Is(err, jwt.ErrTokenExpired) {
		t.Errorf("error does not wrap the jwt reason: %v", err)
	}
	if !reflect.DeepEqual(c, Claims{}) {
		t.Errorf("claims returned with error: %+v", c)
	}
}

// TestExpiredButOtherwiseBad checks that expiry does not mask another
// failure: an expired token that is also forged or misdirected is invalid.
func TestExpiredButOtherwiseBad(t *testing.T) {
	clk := newClock()
	key := mustKey(t)
	s := mustSigner(t, testIssuer, clk, key)

	other := mustSigner(t, "https://evil.example.com", clk, key)
	wrongIssuer := mustIssue(t, other, time.Minute)

	stranger := mustSigner(t, testIssuer, clk, mustKey(t))
	foreign := mustIssue(t, stranger, time.Minute)

	good := mustIssue(t, s, time.Minute)
	parts := strings.Split(good, ".")
	sig := []byte(parts[2])
	sig[3] ^= 1
	badSig := parts[0] + "." + parts[1] + "." + string(sig)

	clk.Advance(time.Hour)
	for name, tok := range map[string]string{"wrong issuer": wrongIssuer, "foreign key": foreign, "bad signature": badSig} {
		t.Run(name, func(t *testing.T) { wantInvalid(t, s, tok) })
	}
}

func TestAlgNone(t *testing.T) {
	clk := newClock()
	key := mustKey(t)
	s := mustSigner(t, testIssuer, clk, key)
	kid := s.SigningKeyID()
	tok := signWith(t, jwt.SigningMethodNone, validClaims(clk), kid, jwt.UnsafeAllowNoneSignatureType)
	wantInvalid(t, s, tok)

	// The same with a copied valid signature kept in place.
	good := strings.Split(mustIssue(t, s, time.Hour), ".")
	noneParts := strings.Split(tok, ".")
	wantInvalid(t, s, noneParts[0]+"."+noneParts[1]+"."+good[2])
}

// TestAlgConfusion covers the classic attack where a verifier that trusts
// the alg header checks an HS256 MAC keyed with the (public) verification
// key.
func TestAlgConfusion(t *testing.T) {
	clk := newClock()
	key := mustKey(t)
	s := mustSigner(t, testIssuer, clk, key)
	pub := []byte(key.Public().(ed25519.PublicKey))
	for _, m := range []jwt.SigningMethod{jwt.SigningMethodHS256, jwt.SigningMethodHS512} {
		t.Run(m.Alg(), func(t *testing.T) {
			wantInvalid(t, s, signWith(t, m, validClaims(clk), s.SigningKeyID(), pub))
			// The raw key bytes the attacker might try instead.
			wantInvalid(t, s, signWith(t, m, validClaims(clk), s.SigningKeyID(), []byte(key)))
		})
	}
}

func TestOtherKey(t *testing.T) {
	clk := newClock()
	s := mustSigner(t, testIssuer, clk, mustKey(t))
	attacker := mustKey(t)

	// Unknown kid.
	wantInvalid(t, s, mustIssue(t, mustSigner(t, testIssuer, clk, attacker), time.Hour))
	// The victim's kid, signed with the attacker's key.
	wantInvalid(t, s, signWith(t, jwt.SigningMethodEdDSA, validClaims(clk), s.SigningKeyID(), attacker))
	// No kid at all.
	wantInvalid(t, s, signWith(t, jwt.SigningMethodEdDSA, validClaims(clk), "", attacker))
}

func TestMissingKID(t *testing.T) {
	clk := newClock()
	key := mustKey(t)
	s := mustSigner(t, testIssuer, clk, key)
	wantInvalid(t, s, signWith(t, jwt.SigningMethodEdDSA, validClaims(clk), "", key))
}

func TestTamperedPayload(t *testing.T) {
	clk := newClock()
	s := mustSigner(t, testIssuer, clk, mustKey(t))
	parts := strings.Split(mustIssue(t, s, time.Hour), ".")

	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	forged := strings.Replace(string(raw), `"sub":"user-1"`, `"sub":"admin"`, 1)
	if forged == string(raw) {
		t.Fatalf("payload %s has no sub to replace", raw)
	}
	wantInvalid(t, s, parts[0]+"."+base64.RawURLEncoding.EncodeToString([]byte(forged))+"."+parts[2])

	// Flipping a single payload character also fails.
	p := []byte(parts[1])
	p[len(p)/2] ^= 0x01
	wantInvalid(t, s, parts[0]+"."+string(p)+"."+parts[2])
}

func TestRequiredClaims(t *testing.T) {
	clk := newClock()
	key := mustKey(t)
	s := mustSigner(t, testIssuer, clk, key)
	kid := s.SigningKeyID()

	cases := map[string]func(c *jwt.RegisteredClaims){
		"no exp":        func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil },
		"no iat":        func(c *jwt.RegisteredClaims) { c.IssuedAt = nil },
		"no sub":        func(c *jwt.RegisteredClaims) { c.Subject = "" },
		"no jti":        func(c *jwt.RegisteredClaims) { c.ID = "" },
		"no iss":        func(c *jwt.RegisteredClaims) { c.Issuer = "" },
		"wrong issuer":  func(c *jwt.RegisteredClaims) { c.Issuer = "https://evil.example.com" },
		"no aud":        func(c *jwt.RegisteredClaims) { c.Audience = nil },
		"wrong aud":     func(c *jwt.RegisteredClaims) { c.Audience = jwt.ClaimStrings{"goalert-calendar"} },
		"iat in future": func(c *jwt.RegisteredClaims) { c.IssuedAt = jwt.NewNumericDate(clk.Now().Add(Leeway + time.Minute)) },
		"nbf in future": func(c *jwt.RegisteredClaims) { c.NotBefore = jwt.NewNumericDate(clk.Now().Add(Leeway + time.Minute)) },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			c := validClaims(clk)
			mutate(&c)
			wantInvalid(t, s, signWith(t, jwt.SigningMethodEdDSA, c, kid, key))
		})
	}

	// Control: the unmodified claims verify, so each case above failed for
	// its own reason.
	if _, err := s.Verify(signWith(t, jwt.SigningMethodEdDSA, validClaims(clk), kid, key)); err != nil {
		t.Fatalf("control token: %v", err)
	}
}

func TestNoExpIsInvalidEvenLater(t *testing.T) {
	clk := newClock()
	key := mustKey(t)
	s := mustSigner(t, testIssuer, clk, key)
	c := validClaims(clk)
	c.ExpiresAt = nil
	tok := signWith(t, jwt.SigningMethodEdDSA, c, s.SigningKeyID(), key)
	_, err := s.Verify(tok)
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, jwt.ErrTokenRequiredClaimMissing) {
		t.Fatalf("err = %v, want ErrInvalid wrapping jwt.ErrTokenRequiredClaimMissing", err)
	}
}

func TestWrongIssuerSigner(t *testing.T) {
	clk := newClock()
	key := mustKey(t)
	s := mustSigner(t, testIssuer, clk, key)
	other := mustSigner(t, "https://other.example.com", clk, key)
	_, err := s.Verify(mustIssue(t, other, time.Hour))
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, jwt.ErrTokenInvalidIssuer) {
		t.Fatalf("err = %v, want ErrInvalid wrapping jwt.ErrTokenInvalidIssuer", err)
	}
}

func TestMalformed(t *testing.T) {
	clk := newClock()
	s := mustSigner(t, testIssuer, clk, mustKey(t))
	good := mustIssue(t, s, time.Hour)
	for name, tok := range map[string]string{
		"empty":           "",
		"garbage":         "not a token",
		"two parts":       strings.Join(strings.Split(good, ".")[:2], "."),
		"four parts":      good + ".x",
		"trailing space":  good + " ",
		"padded":          good + "==",
		"huge":            good + strings.Repeat("A", maxTokenLen),
		"bearer prefixed": "Bearer " + good,
	} {
		t.Run(name, func(t *testing.T) { wantInvalid(t, s, tok) })
	}
}

func TestClientMessage(t *testing.T) {
	clk := newClock()
	s := mustSigner(t, testIssuer, clk, mustKey(t))
	_, err := s.Verify("x.y.z")
	if err == nil {
		t.Fatal("no error")
	}
	if ErrInvalid.Error() != "invalid session token" {
		t.Errorf("ErrInvalid = %q", ErrInvalid)
	}
	if !strings.HasPrefix(err.Error(), "invalid session token: ") {
		t.Errorf("err = %q, want the jwt reason after the client message", err)
	}
}

func TestRotation(t *testing.T) {
	clk := newClock()
	oldKey, newKey := mustKey(t), mustKey(t)
	before := mustSigner(t, testIssuer, clk, oldKey)
	oldTok := mustIssue(t, before, time.Hour)

	after := mustSigner(t, testIssuer, clk, newKey, oldKey)
	c, err := after.Verify(oldTok)
	if err != nil {
		t.Fatalf("old token after rotation: %v", err)
	}
	if c.UserID != "user-1" {
		t.Errorf("UserID = %q", c.UserID)
	}

	newTok := mustIssue(t, after, time.Hour)
	wantKID := KeyID(newKey.Public().(ed25519.PublicKey))
	if h := header(t, newTok); h["kid"] != wantKID {
		t.Errorf("new token kid = %v, want %s (the new key)", h["kid"], wantKID)
	}
	if _, err := after.Verify(newTok); err != nil {
		t.Errorf("new token: %v", err)
	}
	// Signed with the new key: a verifier holding only the new key accepts
	// it, one holding only the old key does not.
	if _, err := mustSigner(t, testIssuer, clk, newKey).Verify(newTok); err != nil {
		t.Errorf("new token with new key only: %v", err)
	}
	wantInvalid(t, before, newTok)

	// When the old key is retired its tokens stop verifying.
	wantInvalid(t, mustSigner(t, testIssuer, clk, newKey), oldTok)
}

func TestNewSignerErrors(t *testing.T) {
	clk := newClock()
	key := mustKey(t)
	badPublicHalf := append(ed25519.PrivateKey{}, key...)
	badPublicHalf[40] ^= 1
	cases := map[string]func() (*Signer, error){
		"no issuer":       func() (*Signer, error) { return NewSigner("", clk.Now, key) },
		"no keys":         func() (*Signer, error) { return NewSigner(testIssuer, clk.Now) },
		"short key":       func() (*Signer, error) { return NewSigner(testIssuer, clk.Now, key[:32]) },
		"nil key":         func() (*Signer, error) { return NewSigner(testIssuer, clk.Now, nil) },
		"bad public half": func() (*Signer, error) { return NewSigner(testIssuer, clk.Now, badPublicHalf) },
	}
	for name, f := range cases {
		if _, err := f(); err == nil {
			t.Errorf("%s: NewSigner succeeded, want error", name)
		}
	}

	// A repeated key is harmless.
	if _, err := NewSigner(testIssuer, clk.Now, key, key); err != nil {
		t.Errorf("repeated key: %v", err)
	}
	// nil clock means time.Now.
	s, err := NewSigner(testIssuer, nil, key)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Issue("s", "u", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(tok); err != nil {
		t.Errorf("real clock round trip: %v", err)
	}
}

func TestIssueErrors(t *testing.T) {
	clk := newClock()
	s := mustSigner(t, testIssuer, clk, mustKey(t))
	for name, f := range map[string]func() (string, error){
		"no session id": func() (string, error) { return s.Issue("", "u", time.Hour) },
		"no user id":    func() (string, error) { return s.Issue("s", "", time.Hour) },
		"zero ttl":      func() (string, error) { return s.Issue("s", "u", 0) },
		"negative ttl":  func() (string, error) { return s.Issue("s", "u", -time.Hour) },
	} {
		if tok, err := f(); err == nil {
			t.Errorf("%s: Issue = %q, want error", name, tok)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	clk := newClock()
	s := mustSigner(t, testIssuer, clk, mustKey(t), mustKey(t))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				tok, err := s.Issue("sess", "user", time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Verify(tok); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			clk.Advance(time.Millisecond)
		}
	})
	wg.Wait()
}
