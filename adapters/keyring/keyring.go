// Package keyring encrypts secrets at rest (API keys, signing keys, provider
// credentials) with the data encryption key given by --data-encryption-key,
// and decrypts data written under the previous key given by
// --data-encryption-key-old during a key change.
//
// # Key derivation
//
// The configured value may be any string: it is passed through HKDF-SHA256
// (RFC 5869) with the fixed salt [KDFSalt] and info [KDFInfo] to produce a
// 256-bit AES key. HKDF does not slow down guessing, so the value should be a
// high-entropy random string rather than a memorable password.
//
// # Stored format
//
// Encrypted data ([FormatAESGCM]) is laid out as
//
//	version (1 byte, 0x01) | key id (8 bytes) | nonce (12 bytes) | AES-256-GCM ciphertext and 16-byte tag
//
// The key id is the first 8 bytes of SHA-256 of the derived key, so Decrypt
// selects the key directly instead of trying each one. The version byte and
// key id are authenticated as GCM additional data. Nonces are random, one per
// call to Encrypt.
//
// Data whose first byte is [FormatPlaintext] (0x00) is plaintext-marked: the
// remaining bytes are the value itself, unencrypted. Encrypt never writes
// this form; Decrypt accepts it so values stored without a key (for example
// imported from a deployment that ran without --data-encryption-key) stay
// readable and can be re-encrypted once a key is set.
//
// A Keyring is immutable after New and safe for concurrent use.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
)

// Key derivation constants. Changing either one makes every stored secret
// unreadable, so they are fixed for format version 1.
const (
	// KDFSalt is the HKDF salt used to derive the AES key from the
	// configured passphrase.
	KDFSalt = "github.com/oncallhq/goalert/adapters/keyring"
	// KDFInfo is the HKDF info (context) string.
	KDFInfo = "goalert data encryption v1"
)

// Format version bytes: the first byte of every value produced by Encrypt
// or accepted by Decrypt.
const (
	// FormatPlaintext marks a value stored unencrypted (see the package
	// documentation).
	FormatPlaintext byte = 0x00
	// FormatAESGCM marks a value encrypted with AES-256-GCM as described in
	// the package documentation.
	FormatAESGCM byte = 0x01
)

const (
	keyIDSize  = 8
	nonceSize  = 12
	headerSize = 1 + keyIDSize
	// overhead is the number of bytes Encrypt adds to the plaintext.
	overhead = headerSize + nonceSize + 16
)

var (
	// ErrNoKey is returned by Encrypt and EncryptString when the Keyring
	// was built without a current key.
	ErrNoKey = errors.New("keyring: --data-encryption-key is required to store secrets")

	// ErrDecrypt is returned by Decrypt and DecryptString for any value that
	// cannot be decrypted: unknown format or key id, truncated or tampered
	// data, or bad encoding. It carries no detail about which check failed.
	ErrDecrypt = errors.New("keyring: cannot decrypt: wrong or missing --data-encryption-key(-old)")
)

type key struct {
	id   [keyIDSize]byte
	aead cipher.AEAD
}

// Keyring encrypts with the current key and decrypts with the current or
// the old one.
type Keyring struct {
	current *key // nil when no key is configured
	old     *key // nil when there is no old key or it equals current
}

// New builds a Keyring from the values of --data-encryption-key (current)
// and --data-encryption-key-old (old).
//
// current may be empty only if old is also empty; that Keyring cannot
// encrypt (Encrypt returns ErrNoKey) and decrypts only plaintext-marked
// data. New returns an error if current is empty while old is set. An old
// value equal to current is ignored.
func New(current, old string) (*Keyring, error) {
	if current == "" {
		if old != "" {
			return nil, errors.New("keyring: --data-encryption-key-old is set but --data-encryption-key is empty; the old key is only used for decrypting, set the new key too")
		}
		return &Keyring{}, nil
	}
	cur, err := deriveKey(current)
	if err != nil {
		return nil, fmt.Errorf("keyring: current key: %w", err)
	}
	k := &Keyring{current: cur}
	if old != "" && old != current {
		o, err := deriveKey(old)
		if err != nil {
			return nil, fmt.Errorf("keyring: old key: %w", err)
		}
		if o.id == cur.id {
			return nil, errors.New("keyring: current and old keys have the same key id")
		}
		k.old = o
	}
	return k, nil
}

func deriveKey(passphrase string) (*key, error) {
	raw, err := hkdf.Key(sha256.New, []byte(passphrase), []byte(KDFSalt), KDFInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("derive key: %w", err)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	sum := sha256.Sum256(raw)
	k := &key{aead: aead}
	copy(k.id[:], sum[:keyIDSize])
	return k, nil
}

// Encrypt encrypts plaintext with the current key in the FormatAESGCM
// layout. Each call uses a fresh random nonce, so equal plaintexts give
// different outputs. It returns ErrNoKey if no current key is configured,
// or a wrapped error if the random source fails.
func (k *Keyring) Encrypt(plaintext []byte) ([]byte, error) {
	if k == nil || k.current == nil {
		return nil, ErrNoKey
	}
	var header [headerSize]byte
	header[0] = FormatAESGCM
	copy(header[1:], k.current.id[:])
	var nonce [nonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("keyring: generate nonce: %w", err)
	}
	out := make([]byte, 0, len(plaintext)+overhead)
	out = append(out, header[:]...)
	out = append(out, nonce[:]...)
	return k.current.aead.Seal(out, nonce[:], plaintext, header[:]), nil
}

// Decrypt reverses Encrypt. The key is chosen by the key id in the data.
// rotated is true when the value was decrypted with the old key, or was
// plaintext-marked while a current key is configured: the caller should
// re-encrypt it with Encrypt and store the result. Any failure returns
// ErrDecrypt.
func (k *Keyring) Decrypt(ciphertext []byte) (plaintext []byte, rotated bool, err error) {
	if len(ciphertext) == 0 {
		return nil, false, ErrDecrypt
	}
	switch ciphertext[0] {
	case FormatPlaintext:
		return append([]byte{}, ciphertext[1:]...), k != nil && k.current != nil, nil
	case FormatAESGCM:
	default:
		return nil, false, ErrDecrypt
	}
	if k == nil || len(ciphertext) < overhead {
		return nil, false, ErrDecrypt
	}
	kid := ciphertext[1:headerSize]
	var use *key
	switch {
	case k.current != nil && subtle.ConstantTimeCompare(kid, k.current.id[:]) == 1:
		use = k.current
	case k.old != nil && subtle.ConstantTimeCompare(kid, k.old.id[:]) == 1:
		use, rotated = k.old, true
	default:
		return nil, false, ErrDecrypt
	}
	nonce := ciphertext[headerSize : headerSize+nonceSize]
	plaintext, err = use.aead.Open(nil, nonce, ciphertext[headerSize+nonceSize:], ciphertext[:headerSize])
	if err != nil {
		return nil, false, ErrDecrypt
	}
	if plaintext == nil {
		plaintext = []byte{}
	}
	return plaintext, rotated, nil
}

// EncryptString encrypts s like Encrypt and returns the result as unpadded
// base64url, suitable for JSON payloads. It returns ErrNoKey if no current
// key is configured.
func (k *Keyring) EncryptString(s string) (string, error) {
	b, err := k.Encrypt([]byte(s))
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// DecryptString reverses EncryptString; rotated has the meaning given in
// Decrypt. Invalid base64url and every decryption failure return
// ErrDecrypt.
func (k *Keyring) DecryptString(s string) (string, bool, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", false, ErrDecrypt
	}
	p, rotated, err := k.Decrypt(b)
	if err != nil {
		return "", false, err
	}
	return string(p), rotated, nil
}

// CanEncrypt reports whether a current key is configured.
func (k *Keyring) CanEncrypt() bool { return k != nil && k.current != nil }

// String describes the Keyring without revealing key material, so a
// Keyring printed by mistake (for example in a log line) leaks nothing.
func (k *Keyring) String() string {
	switch {
	case k == nil || k.current == nil:
		return "keyring(no key)"
	case k.old != nil:
		return "keyring(current+old)"
	default:
		return "keyring(current)"
	}
}

// GoString is String, for the %#v verb.
func (k *Keyring) GoString() string { return k.String() }
