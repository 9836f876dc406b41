package keyring

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func mustNew(t *testing.T, current, old string) *Keyring {
	t.Helper()
	k, err := New(current, old)
	if err != nil {
		t.Fatalf("New(%q, %q): %v", current, old, err)
	}
	return k
}

func TestRoundTrip(t *testing.T) {
	k := mustNew(t, "super-awesome-secret-key", "")
	for _, p := range [][]byte{
		[]byte("twilio auth token"),
		{},
		bytes.Repeat([]byte{0xff}, 4096),
	} {
		ct, err := k.Encrypt(p)
		if err != nil {
			t.Fatalf("Encrypt: %v", err)
		}
		if len(ct) != len(p)+overhead {
			t.Errorf("len(ciphertext) = %d, want %d", len(ct), len(p)+overhead)
		}
		if ct[0] != FormatAESGCM {
			t.Errorf("version byte = %#x, want %#x", ct[0], FormatAESGCM)
		}
		if len(p) > 0 && bytes.Contains(ct, p) {
			t.Error("ciphertext contains the plaintext")
		}
		got, rotated, err := k.Decrypt(ct)
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if rotated {
			t.Error("rotated = true for the current key")
		}
		if !bytes.Equal(got, p) {
			t.Errorf("Decrypt = %q, want %q", got, p)
		}
	}
}

func TestEmptyPlaintext(t *testing.T) {
	k := mustNew(t, "k", "")
	ct, err := k.Encrypt(nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := k.Decrypt(ct)
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || len(got) != 0 {
		t.Errorf("Decrypt = %#v, want empty non-nil slice", got)
	}
	s, err := k.EncryptString("")
	if err != nil {
		t.Fatal(err)
	}
	if s == "" {
		t.Fatal("EncryptString(\"\") returned an empty string")
	}
	gs, _, err := k.DecryptString(s)
	if err != nil || gs != "" {
		t.Errorf("DecryptString = %q, %v; want \"\", nil", gs, err)
	}
}

func TestEncryptionsDiffer(t *testing.T) {
	k := mustNew(t, "k", "")
	a, err := k.Encrypt([]byte("same"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := k.Encrypt([]byte("same"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) {
		t.Error("two encryptions of the same plaintext are equal")
	}
	if !bytes.Equal(a[:headerSize], b[:headerSize]) {
		t.Error("header (version and key id) differs between encryptions with the same key")
	}
	if bytes.Equal(a[headerSize:headerSize+nonceSize], b[headerSize:headerSize+nonceSize]) {
		t.Error("nonce reused")
	}
}

func TestOldKeyDecryptsAndReportsRotated(t *testing.T) {
	before := mustNew(t, "old-key", "")
	ct, err := before.Encrypt([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := before.EncryptString("secret string")
	if err != nil {
		t.Fatal(err)
	}

	after := mustNew(t, "new-key", "old-key")
	got, rotated, err := after.Decrypt(ct)
	if err != nil {
		t.Fatalf("Decrypt with old key: %v", err)
	}
	if !rotated {
		t.Error("rotated = false for data written with the old key")
	}
	if string(got) != "secret" {
		t.Errorf("Decrypt = %q", got)
	}
	gs, rotated, err := after.DecryptString(s)
	if err != nil || !rotated || gs != "secret string" {
		t.Errorf("DecryptString = %q, %v, %v; want %q, true, nil", gs, rotated, err, "secret string")
	}

	// Re-encrypting moves the value to the new key.
	re, err := after.Encrypt(got)
	if err != nil {
		t.Fatal(err)
	}
	if _, rotated, err := after.Decrypt(re); err != nil || rotated {
		t.Errorf("Decrypt(re-encrypted) rotated=%v err=%v; want false, nil", rotated, err)
	}
	// Once the old key is dropped, the re-encrypted value is still readable
	// and the original is not.
	final := mustNew(t, "new-key", "")
	if _, _, err := final.Decrypt(re); err != nil {
		t.Errorf("Decrypt(re-encrypted) after dropping old key: %v", err)
	}
	if _, _, err := final.Decrypt(ct); !errors.Is(err, ErrDecrypt) {
		t.Errorf("Decrypt(old ciphertext) without old key: err = %v, want ErrDecrypt", err)
	}
}

func TestSameCurrentAndOld(t *testing.T) {
	k := mustNew(t, "k", "k")
	ct, err := k.Encrypt([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, rotated, err := k.Decrypt(ct); err != nil || rotated {
		t.Errorf("Decrypt rotated=%v err=%v; want false, nil", rotated, err)
	}
}

func TestWrongKey(t *testing.T) {
	a := mustNew(t, "key-a", "")
	ct, err := a.Encrypt([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []*Keyring{
		mustNew(t, "key-b", ""),
		mustNew(t, "key-b", "key-c"),
		mustNew(t, "", ""),
	} {
		_, _, err := k.Decrypt(ct)
		if !errors.Is(err, ErrDecrypt) {
			t.Errorf("%v: err = %v, want ErrDecrypt", k, err)
		}
	}
}

// TestWrongKeyWithForgedKeyID checks that a matching key id is not enough:
// data under another key, relabelled with this keyring's key id, still fails
// the GCM tag check.
func TestWrongKeyWithForgedKeyID(t *testing.T) {
	a := mustNew(t, "key-a", "")
	b := mustNew(t, "key-b", "")
	ct, err := a.Encrypt([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	copy(ct[1:headerSize], b.current.id[:])
	if _, _, err := b.Decrypt(ct); !errors.Is(err, ErrDecrypt) {
		t.Errorf("err = %v, want ErrDecrypt", err)
	}
}

func TestTamperedByte(t *testing.T) {
	k := mustNew(t, "k", "old")
	ct, err := k.Encrypt([]byte("secret value"))
	if err != nil {
		t.Fatal(err)
	}
	// Flip every bit position in turn except the version byte, which is
	// covered by TestRejectsMalformed.
	for i := 1; i < len(ct); i++ {
		for bit := 0; bit < 8; bit++ {
			mod := bytes.Clone(ct)
			mod[i] ^= 1 << bit
			if _, _, err := k.Decrypt(mod); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("byte %d bit %d flipped: err = %v, want ErrDecrypt", i, bit, err)
			}
		}
	}
}

func TestRejectsMalformed(t *testing.T) {
	k := mustNew(t, "k", "")
	ct, err := k.Encrypt([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	badVersion := bytes.Clone(ct)
	badVersion[0] = 0x02
	cases := map[string][]byte{
		"nil":            nil,
		"version only":   {FormatAESGCM},
		"header only":    ct[:headerSize],
		"truncated tag":  ct[:len(ct)-1],
		"one short":      ct[:overhead-1],
		"unknown format": badVersion,
		"appended byte":  append(bytes.Clone(ct), 0),
	}
	for name, in := range cases {
		if _, _, err := k.Decrypt(in); !errors.Is(err, ErrDecrypt) {
			t.Errorf("%s: err = %v, want ErrDecrypt", name, err)
		}
	}
	for _, s := range []string{"", "!!!", base64.StdEncoding.EncodeToString(ct) + "="} {
		if _, _, err := k.DecryptString(s); !errors.Is(err, ErrDecrypt) {
			t.Errorf("DecryptString(%q): err = %v, want ErrDecrypt", s, err)
		}
	}
}

func TestErrDecryptMessage(t *testing.T) {
	k := mustNew(t, "k", "")
	_, _, err := k.Decrypt([]byte{FormatAESGCM, 1, 2, 3})
	if err == nil || err.Error() != ErrDecrypt.Error() {
		t.Errorf("err = %v, want exactly %v (no details)", err, ErrDecrypt)
	}
	if !strings.Contains(ErrDecrypt.Error(), "cannot decrypt: wrong or missing --data-encryption-key(-old)") {
		t.Errorf("ErrDecrypt message = %q", ErrDecrypt)
	}
}

func TestNewRequiresCurrentWhenOldSet(t *testing.T) {
	if _, err := New("", "x"); err == nil {
		t.Fatal(`New("", "x") succeeded, want error`)
	}
}

func TestNoKey(t *testing.T) {
	k := mustNew(t, "", "")
	if k.CanEncrypt() {
		t.Error("CanEncrypt = true without a key")
	}
	if _, err := k.Encrypt([]byte("x")); !errors.Is(err, ErrNoKey) {
		t.Errorf("Encrypt: err = %v, want ErrNoKey", err)
	}
	if _, err := k.EncryptString("x"); !errors.Is(err, ErrNoKey) {
		t.Errorf("EncryptString: err = %v, want ErrNoKey", err)
	}
	if !strings.Contains(ErrNoKey.Error(), "--data-encryption-key is required to store secrets") {
		t.Errorf("ErrNoKey message = %q", ErrNoKey)
	}
	var nilKeyring *Keyring
	if _, err := nilKeyring.Encrypt([]byte("x")); !errors.Is(err, ErrNoKey) {
		t.Errorf("nil Keyring Encrypt: err = %v, want ErrNoKey", err)
	}
}

func TestPlaintextMarked(t *testing.T) {
	stored := append([]byte{FormatPlaintext}, "legacy value"...)

	none := mustNew(t, "", "")
	got, rotated, err := none.Decrypt(stored)
	if err != nil || rotated || string(got) != "legacy value" {
		t.Errorf("no key: Decrypt = %q, %v, %v; want %q, false, nil", got, rotated, err, "legacy value")
	}

	// With a key configured the value is readable and flagged for
	// re-encryption.
	withKey := mustNew(t, "k", "")
	got, rotated, err = withKey.Decrypt(stored)
	if err != nil || !rotated || string(got) != "legacy value" {
		t.Errorf("with key: Decrypt = %q, %v, %v; want %q, true, nil", got, rotated, err, "legacy value")
	}
	got[0] = 'X'
	if stored[1] != 'l' {
		t.Error("Decrypt returned a slice aliasing its input")
	}

	gs, rotated, err := withKey.DecryptString(base64.RawURLEncoding.EncodeToString([]byte{FormatPlaintext}))
	if err != nil || !rotated || gs != "" {
		t.Errorf("empty plaintext-marked: %q, %v, %v", gs, rotated, err)
	}
}

// TestFormatStable pins the key derivation and layout: a value written by
// this version must stay readable by later versions. The key id was checked
// independently with
//
//	openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt key:super-awesome-secret-key \
//	  -kdfopt salt:github.com/oncallhq/goalert/adapters/keyring \
//	  -kdfopt "info:goalert data encryption v1" HKDF | tr -d : | xxd -r -p | sha256sum
//
// and the stored value is "hello" sealed under an all-zero nonce.
func TestFormatStable(t *testing.T) {
	k := mustNew(t, "super-awesome-secret-key", "")
	const wantKeyID = "fb20a45f73c531a9"
	if got := fmt.Sprintf("%x", k.current.id); got != wantKeyID {
		t.Fatalf("key id = %s, want %s (KDF constants or derivation changed)", got, wantKeyID)
	}
	const stored = "AfsgpF9zxTGpAAAAAAAAAAAAAAAAR6dK0SJPtpLCq4N-eHd5b0z7ZIIF"
	got, rotated, err := k.DecryptString(stored)
	if err != nil || rotated || got != "hello" {
		t.Fatalf("DecryptString(pinned) = %q, %v, %v; want \"hello\", false, nil", got, rotated, err)
	}
}

func TestStringHidesKeys(t *testing.T) {
	k := mustNew(t, "super-awesome-secret-key", "old-secret")
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k)} {
		if strings.Contains(s, "secret") || strings.Contains(s, "aead") {
			t.Errorf("formatted Keyring reveals internals: %s", s)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	k := mustNew(t, "k", "old")
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 100 {
				p := fmt.Sprintf("secret-%d-%d", i, j)
				s, err := k.EncryptString(p)
				if err != nil {
					t.Error(err)
					return
				}
				got, _, err := k.DecryptString(s)
				if err != nil || got != p {
					t.Errorf("round trip %q: got %q, %v", p, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
